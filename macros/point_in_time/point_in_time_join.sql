{#
    point_in_time_join: attach to every spine row the feature values that were true, and known,
    at its cutoff.

    Contract, for one spine row s and each feature table f (same entity):
      - a row r may serve when r.effective_at <= s.cutoff_at - embargo (strict: <), and, when
        f is bitemporal (the default), r.known_at <= s.cutoff_at, and, with a ttl,
        r.effective_at >= s.cutoff_at - ttl;
      - among the rows that may serve, the latest effective_at wins, then the latest known_at,
        then the largest tiebreak_column (nulls lose); all values come from that row, so a null
        there stays null;
      - no row may serve: the feature columns are null.
    The output has the spine's columns in order followed by each feature's columns (prefixed),
    and exactly one row per spine row: the features are computed once per distinct
    (entity, cutoff) and joined back, so duplicate spine rows each keep their row and a null
    entity or cutoff gets nulls.

    Implementations: `default__` ranks the candidate rows of each distinct (entity, cutoff)
    with a window function (portable: PostgreSQL, Spark, Trino; cost grows with the rows per
    entity). `duckdb__` turns each feature row into the moment it becomes servable and
    attaches the winner to the spine rows with one ASOF JOIN per feature table,
    O((N + M) log M): without the bitemporal filter the servable moments follow effective_at,
    so the best row per (entity, effective_at) is enough; with it, a running arg_max over the
    servable moments keeps the winner so far (a correction known later can win later).
#}
{% macro point_in_time_join(spine, features, entity_column='entity_id', cutoff_column='cutoff_at') -%}
    {{ return(adapter.dispatch('point_in_time_join', 'trainset')(spine, features, entity_column, cutoff_column)) }}
{%- endmacro %}


{# Normalise one feature specification, filling the documented defaults. #}
{% macro _pit_feature_spec(feature, entity_column) -%}
    {%- if 'relation' not in feature or 'columns' not in feature -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join: each feature needs 'relation' and 'columns', got " ~ feature
        ) }}
    {%- endif -%}
    {%- if feature.get('bitemporal', true) and 'known_column' in feature and not feature['known_column'] -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join: a bitemporal feature needs a known_column; set bitemporal=false for "
            ~ feature['relation'] ~ " or name its load-time column"
        ) }}
    {%- endif -%}
    {%- set spec = {
        'relation': feature['relation'],
        'entity_column': feature.get('entity_column', entity_column),
        'columns': feature['columns'],
        'prefix': feature.get('prefix', ''),
        'effective_column': feature.get('effective_column', 'effective_at'),
        'known_column': feature.get('known_column', 'known_at'),
        'bitemporal': feature.get('bitemporal', true),
        'ttl': feature.get('ttl', none),
        'embargo': feature.get('embargo', none),
        'strict': feature.get('strict', false),
        'tiebreak_column': feature.get('tiebreak_column', none),
    } -%}
    {{ return(spec) }}
{%- endmacro %}


{# `cutoff - embargo` as SQL. #}
{% macro _pit_shifted(cutoff, embargo) -%}
    {%- if embargo -%}({{ cutoff }} - interval '{{ embargo }}'){%- else -%}{{ cutoff }}{%- endif -%}
{%- endmacro %}


{% macro default__point_in_time_join(spine, features, entity_column, cutoff_column) -%}
    {%- set specs = [] -%}
    {%- for feature in features -%}
        {%- do specs.append(trainset._pit_feature_spec(feature, entity_column)) -%}
    {%- endfor %}
    with

    pit_spine_keys as (
        select distinct
            {{ entity_column }} as pit_entity,
            {{ cutoff_column }} as pit_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    )
    {%- for spec in specs %}
    {%- set i = loop.index %}
    {%- set end = trainset._pit_shifted('pit_spine_keys.pit_cutoff', spec.embargo) %},

    pit_candidates_{{ i }} as (
        select
            pit_spine_keys.pit_entity,
            pit_spine_keys.pit_cutoff,
            {%- for column in spec.columns %}
            pit_features.{{ column }} as pit_value_{{ i }}_{{ loop.index }},
            {%- endfor %}
            row_number() over (
                partition by pit_spine_keys.pit_entity, pit_spine_keys.pit_cutoff
                order by
                    pit_features.{{ spec.effective_column }} desc
                    {%- if spec.known_column %},
                    pit_features.{{ spec.known_column }} desc nulls last
                    {%- endif %}
                    {%- if spec.tiebreak_column %},
                    pit_features.{{ spec.tiebreak_column }} desc nulls last
                    {%- endif %}
            ) as pit_rank
        from pit_spine_keys
        inner join {{ spec.relation }} as pit_features
            on pit_spine_keys.pit_entity = pit_features.{{ spec.entity_column }}
            and pit_features.{{ spec.effective_column }} {{ '<' if spec.strict else '<=' }} {{ end }}
            {%- if spec.bitemporal %}
            and pit_features.{{ spec.known_column }} <= pit_spine_keys.pit_cutoff
            {%- endif %}
            {%- if spec.ttl %}
            and pit_features.{{ spec.effective_column }} >= pit_spine_keys.pit_cutoff - interval '{{ spec.ttl }}'
            {%- endif %}
    )
    {%- endfor %}

    select
        pit_spine.*
        {%- for spec in specs %}
        {%- set i = loop.index %}
        {%- for column in spec.columns %},
        pit_winner_{{ i }}.pit_value_{{ i }}_{{ loop.index }} as {{ spec.prefix }}{{ column }}
        {%- endfor %}
        {%- endfor %}
    from {{ spine }} as pit_spine
    {%- for spec in specs %}
    {%- set i = loop.index %}
    left join pit_candidates_{{ i }} as pit_winner_{{ i }}
        on pit_spine.{{ entity_column }} = pit_winner_{{ i }}.pit_entity
        and pit_spine.{{ cutoff_column }} = pit_winner_{{ i }}.pit_cutoff
        and pit_winner_{{ i }}.pit_rank = 1
    {%- endfor %}
{%- endmacro %}


{% macro duckdb__point_in_time_join(spine, features, entity_column, cutoff_column) -%}
    {%- set specs = [] -%}
    {%- for feature in features -%}
        {%- do specs.append(trainset._pit_feature_spec(feature, entity_column)) -%}
    {%- endfor %}
    with
    {% for spec in specs %}
    {%- set i = loop.index %}
    {#- The moment a row may start serving: effective_at shifted by the embargo (plus one
        microsecond in strict mode, so `<` becomes `<=`), and, when bitemporal, not before it
        is known. -#}
    {%- set shift = "interval '" ~ spec.embargo ~ "'" if spec.embargo else none -%}
    {%- set servable = 'pit_features.' ~ spec.effective_column
        ~ (' + ' ~ shift if shift else '')
        ~ (" + interval '1 microsecond'" if spec.strict else '') -%}
    {%- if spec.bitemporal %}
    {%- set servable = 'greatest(' ~ servable ~ ', pit_features.' ~ spec.known_column ~ ')' %}
    pit_ranked_{{ i }} as (
        select
            pit_features.{{ spec.entity_column }} as pit_entity,
            cast({{ servable }} as timestamp) as pit_servable_at,
            pit_features.{{ spec.effective_column }} as pit_effective_at,
            {
                {%- for column in spec.columns %}
                'v{{ loop.index }}': pit_features.{{ column }}{{ ',' if not loop.last }}
                {%- endfor %}
            } as pit_payload,
            row_number() over (
                partition by pit_features.{{ spec.entity_column }}
                order by
                    pit_features.{{ spec.effective_column }},
                    pit_features.{{ spec.known_column }}
                    {%- if spec.tiebreak_column %},
                    pit_features.{{ spec.tiebreak_column }} nulls first
                    {%- endif %}
            ) as pit_priority
        from {{ spec.relation }} as pit_features
        where pit_features.{{ spec.entity_column }} is not null
            and pit_features.{{ spec.effective_column }} is not null
            and pit_features.{{ spec.known_column }} is not null
    ),

    {#- Servable moments are not in effective_at order, so keep the running winner: the best
        row among those servable by each moment. -#}
    pit_best_{{ i }} as (
        select distinct on (pit_entity, pit_servable_at)
            pit_entity,
            pit_servable_at,
            arg_max(pit_effective_at, pit_priority) over pit_history as pit_effective_at,
            arg_max(pit_payload, pit_priority) over pit_history as pit_payload
        from pit_ranked_{{ i }}
        window pit_history as (
            partition by pit_entity
            order by pit_servable_at
            range between unbounded preceding and current row
        )
    ){{ ',' if not loop.last }}
    {%- else %}
    {#- Servable moments follow effective_at, so the latest servable row is the winner: keep
        the best row per (entity, effective_at) and let the ASOF JOIN find it. -#}
    pit_best_{{ i }} as (
        select
            pit_features.{{ spec.entity_column }} as pit_entity,
            cast({{ servable }} as timestamp) as pit_servable_at,
            pit_features.{{ spec.effective_column }} as pit_effective_at
            {%- for column in spec.columns %},
            pit_features.{{ column }} as pit_value_{{ loop.index }}
            {%- endfor %}
        from {{ spec.relation }} as pit_features
        where pit_features.{{ spec.entity_column }} is not null
            and pit_features.{{ spec.effective_column }} is not null
        {%- if spec.known_column or spec.tiebreak_column %}
        qualify row_number() over (
            partition by pit_features.{{ spec.entity_column }}, pit_features.{{ spec.effective_column }}
            order by
                {%- if spec.known_column %}
                pit_features.{{ spec.known_column }} desc nulls last{{ ',' if spec.tiebreak_column }}
                {%- endif %}
                {%- if spec.tiebreak_column %}
                pit_features.{{ spec.tiebreak_column }} desc nulls last
                {%- endif %}
        ) = 1
        {%- endif %}
    ){{ ',' if not loop.last }}
    {%- endif %}
    {%- endfor %}

    select
        pit_spine.*
        {%- for spec in specs %}
        {%- set i = loop.index %}
        {%- for column in spec.columns %},
        {%- set value = 'pit_best_' ~ i ~ ('.pit_payload.v' if spec.bitemporal else '.pit_value_') ~ loop.index %}
        {%- if spec.ttl %}
        case
            when pit_best_{{ i }}.pit_effective_at
                >= pit_spine.{{ cutoff_column }} - interval '{{ spec.ttl }}'
                then {{ value }}
        end as {{ spec.prefix }}{{ column }}
        {%- else %}
        {{ value }} as {{ spec.prefix }}{{ column }}
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
    from {{ spine }} as pit_spine
    {%- for spec in specs %}
    {%- set i = loop.index %}
    asof left join pit_best_{{ i }}
        on pit_spine.{{ entity_column }} = pit_best_{{ i }}.pit_entity
        and pit_spine.{{ cutoff_column }} >= pit_best_{{ i }}.pit_servable_at
    {%- endfor %}
{%- endmacro %}
