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

    Times are compared at the inputs' own precision (TIMESTAMP_NS keeps its nanoseconds) and
    `cutoff - embargo` is SQL's interval arithmetic on the cutoff, so a month embargo ends
    where the calendar says: with effective_at Jan 30, cutoff Feb 29 gives Jan 29 (no), Mar 1
    gives Feb 1 (yes). A ttl must be positive and an embargo may not be negative: otherwise
    compilation fails naming the model and the argument.

    Implementations: `default__` ranks the candidate rows of each distinct (entity, cutoff)
    with a window function (portable: PostgreSQL, Spark, Trino; cost grows with the rows per
    entity). `duckdb__`, without the bitemporal filter, attaches the best row per (entity,
    effective_at) to each distinct (entity, cutoff) with one ASOF JOIN on cutoff - embargo,
    O((N + M) log M). With it, each row gets a priority (the contract's order) and the first
    cutoff at which it may serve (not before known_at; the exact inverse of cutoff - embargo,
    month ends included), rows and cutoffs are sorted into one stream per entity, and the
    running maximum of the priority at each cutoff names the winner, whose values come back
    through an equi-join: O((N + M) log(N + M)), no payload carried through the sort.
#}
{% macro point_in_time_join(spine, features, entity_column='entity_id', cutoff_column='cutoff_at') -%}
    {{ return(adapter.dispatch('point_in_time_join', 'trainset')(spine, features, entity_column, cutoff_column)) }}
{%- endmacro %}


{# Normalise one feature specification, filling the documented defaults; a ttl that is not
   positive or an embargo that is negative is a compile-time error naming the model. #}
{% macro _pit_feature_spec(feature, entity_column) -%}
    {%- if 'relation' not in feature or 'columns' not in feature -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join in model '" ~ trainset._pit_model_name()
            ~ "': each feature needs 'relation' and 'columns', got " ~ feature
        ) }}
    {%- endif -%}
    {%- if feature.get('bitemporal', true) and 'known_column' in feature and not feature['known_column'] -%}
        {{ exceptions.raise_compiler_error(
            "point_in_time_join in model '" ~ trainset._pit_model_name()
            ~ "': a bitemporal feature needs a known_column; set bitemporal=false for "
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
        'ttl': trainset._pit_interval(feature.get('ttl', none), 'point_in_time_join', 'ttl', true),
        'embargo': trainset._pit_interval(feature.get('embargo', none), 'point_in_time_join', 'embargo', false),
        'strict': feature.get('strict', false),
        'tiebreak_column': feature.get('tiebreak_column', none),
    } -%}
    {{ return(spec) }}
{%- endmacro %}


{% macro default__point_in_time_join(spine, features, entity_column, cutoff_column) -%}
    {%- set specs = [] -%}
    {%- for feature in features -%}
        {%- do specs.append(trainset._pit_feature_spec(feature, entity_column)) -%}
    {%- endfor %}
    with

    {{ trainset._pit_spine_keys(spine, entity_column, cutoff_column) }}
    {%- for spec in specs %},

    {{ trainset._pit_bounds(spec, loop.index) }},

    {{ trainset._pit_ranked_candidates(spec, loop.index) }}
    {%- endfor %}

    {{ trainset._pit_join_winners(spine, specs, entity_column, cutoff_column) }}
{%- endmacro %}


{#
    The pieces of the window-function join, shared by `default__` and the engines that rank
    candidates the same way (`spark__`). `_pit_spine_keys`: the CTE `pit_spine_keys` of
    distinct non-null (entity, cutoff). `_pit_bounds`: the CTE `pit_bounds_<i>` of each key's
    `pit_end_at` (cutoff - embargo) and, with a ttl, `pit_start_at`. `_pit_ranked_candidates`:
    the CTE `pit_candidates_<i>`, every row that may serve a key ranked in the contract's order
    (`pit_rank` 1 wins), values as `pit_value_<i>_<n>`. `_pit_join_winners`: the final select,
    every spine row with the values of rank 1 of each `pit_candidates_<i>` (or nulls).
#}
{% macro _pit_spine_keys(spine, entity_column, cutoff_column) -%}
    pit_spine_keys as (
        select distinct
            {{ entity_column }} as pit_entity,
            {{ cutoff_column }} as pit_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    )
{%- endmacro %}


{% macro _pit_bounds(spec, i) -%}
    pit_bounds_{{ i }} as (
        select
            pit_entity,
            pit_cutoff,
            {{ trainset.pit_bound('pit_cutoff', spec.embargo, 'pit_end') }}
            {%- if spec.ttl %},
            {{ trainset.pit_bound('pit_cutoff', spec.ttl, 'pit_start') }}
            {%- endif %}
        from pit_spine_keys
    )
{%- endmacro %}


{% macro _pit_ranked_candidates(spec, i) -%}
    pit_candidates_{{ i }} as (
        select
            pit_bounds_{{ i }}.pit_entity,
            pit_bounds_{{ i }}.pit_cutoff,
            {%- for column in spec.columns %}
            pit_features.{{ column }} as pit_value_{{ i }}_{{ loop.index }},
            {%- endfor %}
            row_number() over (
                partition by pit_bounds_{{ i }}.pit_entity, pit_bounds_{{ i }}.pit_cutoff
                order by
                    pit_features.{{ spec.effective_column }} desc
                    {%- if spec.known_column %},
                    pit_features.{{ spec.known_column }} desc nulls last
                    {%- endif %}
                    {%- if spec.tiebreak_column %},
                    pit_features.{{ spec.tiebreak_column }} desc nulls last
                    {%- endif %}
            ) as pit_rank
        from pit_bounds_{{ i }}
        inner join {{ spec.relation }} as pit_features
            on pit_bounds_{{ i }}.pit_entity = pit_features.{{ spec.entity_column }}
            and {{ trainset.pit_compare(
                'pit_features.' ~ spec.effective_column, '<' if spec.strict else '<=',
                'pit_bounds_' ~ i ~ '.pit_end', spec.embargo is not none) }}
            {%- if spec.bitemporal %}
            and pit_features.{{ spec.known_column }} <= pit_bounds_{{ i }}.pit_cutoff
            {%- endif %}
            {%- if spec.ttl %}
            and {{ trainset.pit_compare('pit_features.' ~ spec.effective_column, '>=', 'pit_bounds_' ~ i ~ '.pit_start') }}
            {%- endif %}
    )
{%- endmacro %}


{% macro _pit_join_winners(spine, specs, entity_column, cutoff_column) -%}
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

    pit_spine_keys as (
        select distinct
            {{ entity_column }} as pit_entity,
            {{ cutoff_column }} as pit_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    )
    {%- for spec in specs %}
    {%- set i = loop.index %}
    {#- Keys mode: with an embargo, instants are compared as exact nanosecond keys, because
        DuckDB's `timestamp_ns - interval` keeps only microseconds. -#}
    {%- set keyed = spec.embargo is not none %},

    {{ trainset._pit_duckdb_bounds(spec, i, keyed) }},
    {%- if spec.bitemporal %}

    {{ trainset._pit_duckdb_bitemporal_ranked(spec, i, keyed) }},

    {{ trainset._pit_duckdb_bitemporal_best(spec, i, keyed) }},
    {%- else %}

    {{ trainset._pit_duckdb_asof_best(spec, i, keyed) }},
    {%- endif %}

    {{ trainset._pit_duckdb_result(spec, i) }}
    {%- endfor %}

    select
        pit_spine.*
        {%- for spec in specs %}
        {%- set i = loop.index %}
        {%- for column in spec.columns %},
        pit_result_{{ i }}.pit_value_{{ loop.index }} as {{ spec.prefix }}{{ column }}
        {%- endfor %}
        {%- endfor %}
    from {{ spine }} as pit_spine
    {%- for spec in specs %}
    {%- set i = loop.index %}
    left join pit_result_{{ i }}
        on pit_spine.{{ entity_column }} = pit_result_{{ i }}.pit_entity
        and pit_spine.{{ cutoff_column }} = pit_result_{{ i }}.pit_cutoff
    {%- endfor %}
{%- endmacro %}


{# DuckDB, CTE `pit_bounds_<i>`: each (entity, cutoff) of the spine with the bounds of
   feature view `i`: its ttl start, and in keys mode the cutoff (bitemporal) or the end
   (cutoff - embargo) as nanosecond keys. #}
{% macro _pit_duckdb_bounds(spec, i, keyed) -%}
pit_bounds_{{ i }} as (
        select
            pit_entity,
            pit_cutoff
            {%- if spec.ttl %},
            {{ trainset.pit_bound('pit_cutoff', spec.ttl, 'pit_start') }}
            {%- endif %}
            {%- if keyed and spec.bitemporal %},
            {{ trainset._pit_key('pit_cutoff') }} as pit_cutoff_key
            {%- elif keyed %},
            {{ trainset.pit_bound('pit_cutoff', spec.embargo, 'pit_end') }}
            {%- endif %}
        from pit_spine_keys
    )
{%- endmacro %}


{# DuckDB, bitemporal view `i`, CTE `pit_ranked_<i>`: each feature row with its priority
   (the contract's order) and the first moment it may serve. #}
{% macro _pit_duckdb_bitemporal_ranked(spec, i, keyed) -%}
{#- Each row gets a priority (the contract's order: effective_at, known_at, tiebreak) and
        the first cutoff at which it may serve: not before it is known, and not before
        cutoff - embargo reaches effective_at. -#}
    pit_ranked_{{ i }} as (
        select
            pit_features.{{ spec.entity_column }} as pit_entity,
            {%- if keyed %}
            greatest(
                {{ trainset._pit_key('pit_features.' ~ spec.known_column) }},
                {{ trainset._pit_servable_key(
                    trainset._pit_micro_floor_or_inf('pit_features.' ~ spec.effective_column),
                    'coalesce(' ~ trainset._pit_sub_micro('pit_features.' ~ spec.effective_column) ~ ', 0)',
                    spec.embargo, spec.strict) }}
            ) as pit_moment,
            0 as pit_side,
            {%- else %}
            greatest(pit_features.{{ spec.effective_column }}, pit_features.{{ spec.known_column }}) as pit_moment,
            {#- side orders a row against a cutoff at the same moment: 0 serves at it, 2 only
                after it (strict, when effective_at is the later bound). -#}
            {%- if spec.strict %}
            case
                when pit_features.{{ spec.effective_column }} >= pit_features.{{ spec.known_column }} then 2
                else 0
            end as pit_side,
            {%- else %}
            0 as pit_side,
            {%- endif %}
            {%- endif %}
            pit_features.{{ spec.effective_column }} as pit_effective_at,
            {%- for column in spec.columns %}
            pit_features.{{ column }} as pit_value_{{ loop.index }},
            {%- endfor %}
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
    )
{%- endmacro %}


{# DuckDB, bitemporal view `i`, CTEs `pit_stream_<i>`, `pit_running_<i>`, `pit_best_<i>`:
   rows and cutoffs in one stream per entity; the running maximum of the priority at a
   cutoff is the winner, joined back for its values. #}
{% macro _pit_duckdb_bitemporal_best(spec, i, keyed) -%}
{#- Rows and cutoffs in one stream per entity, in the order of the cutoff axis: the running
        maximum of the priority at a cutoff is the best row servable by then. -#}
    pit_stream_{{ i }} as (
        select
            pit_entity,
            pit_moment,
            pit_side,
            pit_priority,
            null as pit_cutoff
            {%- if spec.ttl %},
            null as pit_start_at,
            null as pit_start_ns
            {%- endif %}
        from pit_ranked_{{ i }}
        union all
        select
            pit_entity,
            {{ 'pit_cutoff_key' if keyed else 'pit_cutoff' }} as pit_moment,
            1 as pit_side,
            null as pit_priority,
            pit_cutoff
            {%- if spec.ttl %},
            pit_start_at,
            pit_start_ns
            {%- endif %}
        from pit_bounds_{{ i }}
    ),

    pit_running_{{ i }} as (
        select
            pit_entity,
            pit_cutoff,
            pit_side,
            {%- if spec.ttl %}
            pit_start_at,
            pit_start_ns,
            {%- endif %}
            max(pit_priority) over (
                partition by pit_entity
                order by pit_moment, pit_side
                rows between unbounded preceding and current row
            ) as pit_priority
        from pit_stream_{{ i }}
    ),

    pit_best_{{ i }} as (
        select
            pit_running_{{ i }}.*,
            pit_ranked_{{ i }}.pit_effective_at
            {%- for column in spec.columns %},
            pit_ranked_{{ i }}.pit_value_{{ loop.index }}
            {%- endfor %}
        from pit_running_{{ i }}
        left join pit_ranked_{{ i }}
            on pit_running_{{ i }}.pit_entity = pit_ranked_{{ i }}.pit_entity
            and pit_running_{{ i }}.pit_priority = pit_ranked_{{ i }}.pit_priority
        where pit_running_{{ i }}.pit_side = 1
    )
{%- endmacro %}


{# DuckDB, view `i` without the bitemporal filter, CTEs `pit_ranked_<i>`, `pit_best_<i>`:
   the best row per (entity, effective_at), then one ASOF JOIN per cutoff. #}
{% macro _pit_duckdb_asof_best(spec, i, keyed) -%}
{#- Without the bitemporal filter the rows serve in effective_at order, so the best row per
        (entity, effective_at) is the winner from its effective_at on: one ASOF JOIN. -#}
    pit_ranked_{{ i }} as (
        select
            pit_features.{{ spec.entity_column }} as pit_entity,
            pit_features.{{ spec.effective_column }} as pit_effective_at,
            {%- if keyed %}
            {{ trainset._pit_key('pit_features.' ~ spec.effective_column) }} as pit_effective_key,
            {%- endif %}
            {%- for column in spec.columns %}
            pit_features.{{ column }} as pit_value_{{ loop.index }}{{ ',' if not loop.last }}
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
    ),

    pit_best_{{ i }} as (
        select
            pit_bounds_{{ i }}.*,
            pit_ranked_{{ i }}.pit_effective_at
            {%- for column in spec.columns %},
            pit_ranked_{{ i }}.pit_value_{{ loop.index }}
            {%- endfor %}
        from pit_bounds_{{ i }}
        asof left join pit_ranked_{{ i }}
            on pit_bounds_{{ i }}.pit_entity = pit_ranked_{{ i }}.pit_entity
            {%- if keyed %}
            and {{ trainset._pit_key_of('pit_bounds_' ~ i ~ '.pit_end_at', 'pit_bounds_' ~ i ~ '.pit_end_ns') }}
                {{ '>' if spec.strict else '>=' }} pit_ranked_{{ i }}.pit_effective_key
            {%- else %}
            and pit_bounds_{{ i }}.pit_cutoff {{ '>' if spec.strict else '>=' }} pit_ranked_{{ i }}.pit_effective_at
            {%- endif %}
    )
{%- endmacro %}


{# DuckDB, CTE `pit_result_<i>`: the winner's values per (entity, cutoff), null when the
   winner is older than the ttl. #}
{% macro _pit_duckdb_result(spec, i) -%}
pit_result_{{ i }} as (
        select
            pit_entity,
            pit_cutoff
            {%- for column in spec.columns %},
            {%- if spec.ttl %}
            case
                when {{ trainset.pit_compare('pit_effective_at', '>=', 'pit_start') }}
                    then pit_value_{{ loop.index }}
            end as pit_value_{{ loop.index }}
            {%- else %}
            pit_value_{{ loop.index }}
            {%- endif %}
            {%- endfor %}
        from pit_best_{{ i }}
    )
{%- endmacro %}
