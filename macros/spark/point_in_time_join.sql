{#
    point_in_time_join on Apache Spark: the contract of `point_in_time_join` (see
    macros/point_in_time/point_in_time_join.sql), in two formulations chosen per feature.

    Spark timestamps are microseconds, so `cutoff - embargo` and every comparison are exact
    in plain SQL (month embargoes clamp to the month's end like every engine's interval
    arithmetic).

    - Bitemporal features (the default): the candidate rows of each distinct (entity, cutoff)
      are ranked with a window function, as in `default__`. Spark 4.3's ASOF JOIN cannot do
      this exactly: its MATCH_CONDITION takes one comparison, so `known_at <= cutoff_at`
      cannot join the `effective_at` bound in it.
    - Features without the bitemporal filter: the rows are first made unique per (entity,
      effective_at), keeping the contract's winner (latest known_at, then the largest
      tiebreak_column, nulls losing), and only then joined with `left asof join ...
      match_condition (cutoff - embargo >= effective_at)` (strict: `>`). The ASOF JOIN picks an
      arbitrary row among equal timestamps; after this step there is no such tie, so its
      answer is the contract's. The ttl is applied to the winner afterwards, which is exact
      because the winner is the latest servable row: if it is older than the ttl, every
      servable row is. Needs `spark.sql.join.asofJoin.enabled=true`, which the `spark`
      profile sets.
#}
{% macro spark__point_in_time_join(spine, features, entity_column, cutoff_column) -%}
    {%- set specs = [] -%}
    {%- for feature in features -%}
        {%- do specs.append(trainset._pit_feature_spec(feature, entity_column)) -%}
    {%- endfor %}
    with

    {{ trainset._pit_spine_keys(spine, entity_column, cutoff_column) }}
    {%- for spec in specs %}
    {%- set i = loop.index %},

    {{ trainset._pit_bounds(spec, i) }},
    {%- if spec.bitemporal %}

    {{ trainset._pit_ranked_candidates(spec, i) }}
    {%- else %}

    -- One row per (entity, effective_at): the winner among rows with equal effective_at.

    pit_ranked_{{ i }} as (
        select
            pit_features.{{ spec.entity_column }} as pit_entity,
            pit_features.{{ spec.effective_column }} as pit_effective_at,
            {%- for column in spec.columns %}
            pit_features.{{ column }} as pit_value_{{ i }}_{{ loop.index }},
            {%- endfor %}
            row_number() over (
                partition by pit_features.{{ spec.entity_column }}, pit_features.{{ spec.effective_column }}
                order by
                    {%- if spec.known_column %}
                    pit_features.{{ spec.known_column }} desc nulls last,
                    {%- endif %}
                    {%- if spec.tiebreak_column %}
                    pit_features.{{ spec.tiebreak_column }} desc nulls last,
                    {%- endif %}
                    pit_features.{{ spec.effective_column }}
            ) as pit_rank
        from {{ spec.relation }} as pit_features
        where pit_features.{{ spec.entity_column }} is not null
            and pit_features.{{ spec.effective_column }} is not null
    ),

    pit_unique_{{ i }} as (
        select * from pit_ranked_{{ i }}
        where pit_rank = 1
    ),

    pit_best_{{ i }} as (
        select
            pit_bounds_{{ i }}.*,
            pit_unique_{{ i }}.pit_effective_at
            {%- for column in spec.columns %},
            pit_unique_{{ i }}.pit_value_{{ i }}_{{ loop.index }}
            {%- endfor %}
        from pit_bounds_{{ i }}
        left asof join pit_unique_{{ i }}
            match_condition (pit_bounds_{{ i }}.pit_end_at {{ '>' if spec.strict else '>=' }} pit_unique_{{ i }}.pit_effective_at)
            on pit_bounds_{{ i }}.pit_entity = pit_unique_{{ i }}.pit_entity
    ),

    -- One row per key, the ttl applied to the winner; rank 1 for the shared final join.

    pit_candidates_{{ i }} as (
        select
            pit_entity,
            pit_cutoff,
            {%- for column in spec.columns %}
            {%- if spec.ttl %}
            case
                when pit_effective_at >= pit_start_at then pit_value_{{ i }}_{{ loop.index }}
            end as pit_value_{{ i }}_{{ loop.index }},
            {%- else %}
            pit_value_{{ i }}_{{ loop.index }},
            {%- endif %}
            {%- endfor %}
            1 as pit_rank
        from pit_best_{{ i }}
    )
    {%- endif %}
    {%- endfor %}

    {{ trainset._pit_join_winners(spine, specs, entity_column, cutoff_column) }}
{%- endmacro %}
