{#
    window_aggregates: exact trailing-window aggregates of an event table at every spine
    cutoff, not copied from the last event's row.

    Contract, for one spine row s, window N days and end = s.cutoff_at - embargo: the events of
    the same entity with end - N days < effective_at <= end, and, when bitemporal (the
    default), known_at <= s.cutoff_at, and, when `superseded_column` is given, a superseded_at
    that is null or after s.cutoff_at (a correction replaces the version it corrects from the
    moment it is known). Aggregations: count (non-null values; column '*' counts rows),
    count_distinct, sum, mean, min, max. No events: count, count_distinct and sum are 0; mean,
    min and max are null. Output: the spine's columns in order, then one column per
    aggregation, function and window, named <prefix><name>_<function>_<N>d; one row per spine
    row (computed per distinct (entity, cutoff) and joined back).

    Windows are whole days (a positive number, or compilation fails naming the model); the
    embargo is an interval that may not be negative; `end - N days` is SQL's interval
    arithmetic and times compare at the inputs' own precision, as in point_in_time_join.

    Method: `range_join` (the default, and the only formulation of `default__`) joins each
    distinct (entity, cutoff) to the events of its widest window and aggregates with
    conditional aggregates: O(N * k) for k events per entity and widest window, the fastest
    shape when windows hold few events, and exact for every type. `cumulative` (DuckDB)
    answers count, sum and mean from running totals per entity looked up with one ASOF JOIN at
    the window end and one per window start: O((N + M) log M) whatever the density. Running
    totals are exact only for counts, integers and decimals: a DOUBLE total loses a 1.0 added
    to 1e17, so the window after the 1e17 leaves would read 0.0. So `cumulative` applies only
    with no bitemporal filter, no superseded_column, only count, sum and mean, and sums and
    means over integer or decimal columns (read from a cast in the column expression, e.g.
    'cast(amount as decimal(38, 2))', or from the relation's column type); otherwise the range
    join is used, and an explicit `cumulative` over a floating (or unreadable) column is a
    compile-time error rather than a silent fallback. `auto` picks `cumulative` only where it
    applies and is exact, and `expected_events_per_window` (a hint from the caller, default
    10) is above 50.
#}
{% macro window_aggregates(
    spine,
    events,
    aggregations,
    windows,
    entity_column='entity_id',
    cutoff_column='cutoff_at',
    event_entity_column=none,
    effective_column='effective_at',
    known_column='known_at',
    bitemporal=true,
    superseded_column=none,
    embargo=none,
    method='auto',
    prefix='',
    expected_events_per_window=10
) -%}
    {%- if windows | length == 0 or aggregations | length == 0 -%}
        {{ exceptions.raise_compiler_error("window_aggregates needs at least one window and one aggregation") }}
    {%- endif -%}
    {%- for aggregation in aggregations -%}
        {%- for function in aggregation['functions'] -%}
            {%- if function not in ['count', 'count_distinct', 'sum', 'mean', 'min', 'max'] -%}
                {{ exceptions.raise_compiler_error(
                    "window_aggregates: unknown function '" ~ function
                    ~ "'; use count, count_distinct, sum, mean, min or max"
                ) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if method not in ['auto', 'range_join', 'cumulative'] -%}
        {{ exceptions.raise_compiler_error(
            "window_aggregates: method must be auto, range_join or cumulative, got " ~ method
        ) }}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for window in windows -%}
        {%- do days.append(trainset._pit_window_days(window, 'window_aggregates')) -%}
    {%- endfor -%}
    {%- set parsed_embargo = trainset._pit_interval(embargo, 'window_aggregates', 'embargo', false) -%}
    {{ return(adapter.dispatch('window_aggregates', 'trainset')(
        spine, events, aggregations, days, entity_column, cutoff_column,
        event_entity_column or entity_column, effective_column, known_column, bitemporal,
        superseded_column, parsed_embargo, method, prefix, expected_events_per_window
    )) }}
{%- endmacro %}


{# The shift from the cutoff to the start of a window of N days: embargo, then N days. #}
{% macro _window_start_shift(embargo, window) -%}
    {%- if embargo -%}
        {{ return({
            'text': embargo.text ~ ' ' ~ window ~ ' days',
            'months': embargo.months,
            'days': embargo.days + window,
            'micros': embargo.micros,
        }) }}
    {%- endif -%}
    {{ return({'text': window ~ ' days', 'months': 0, 'days': window, 'micros': 0}) }}
{%- endmacro %}


{# The output column name of one aggregation, function and window. #}
{% macro _window_column_name(prefix, aggregation, function, window) -%}
    {{ prefix }}{{ aggregation.get('name', aggregation['column']) }}_{{ function }}_{{ window }}d
{%- endmacro %}


{# The final select: spine columns, then aggregates with their empty-window defaults. #}
{% macro _window_final_select(spine, aggregations, windows, entity_column, cutoff_column, prefix) -%}
    select
        window_spine.*
        {%- for window in windows %}
        {%- for aggregation in aggregations %}
        {%- for function in aggregation['functions'] %}
        {%- set name = trainset._window_column_name(prefix, aggregation, function, window) %},
        {%- if function in ['count', 'count_distinct', 'sum'] %}
        coalesce(window_results.{{ name }}, 0) as {{ name }}
        {%- else %}
        window_results.{{ name }} as {{ name }}
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        {%- endfor %}
    from {{ spine }} as window_spine
    left join window_results
        on window_spine.{{ entity_column }} = window_results.window_entity
        and window_spine.{{ cutoff_column }} = window_results.window_cutoff
{%- endmacro %}


{% macro _window_range_join(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, known_column, bitemporal, superseded_column, embargo, prefix
) -%}
    {%- set widest = windows | max %}
    with

    window_keys as (
        select distinct
            {{ entity_column }} as window_entity,
            {{ cutoff_column }} as window_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    ),

    window_bounds as (
        select
            window_entity,
            window_cutoff,
            {{ trainset.pit_bound('window_cutoff', embargo, 'window_end') }}
            {%- for window in windows | unique %},
            {{ trainset.pit_bound('window_cutoff', trainset._window_start_shift(embargo, window), 'window_start_' ~ window) }}
            {%- endfor %}
        from window_keys
    ),

    window_events as (
        select
            window_bounds.*,
            window_source.*
        from window_bounds
        inner join {{ events }} as window_source
            on window_bounds.window_entity = window_source.{{ event_entity_column }}
            and {{ trainset.pit_compare('window_source.' ~ effective_column, '<=', 'window_bounds.window_end', embargo is not none) }}
            and {{ trainset.pit_compare('window_source.' ~ effective_column, '>', 'window_bounds.window_start_' ~ widest) }}
            {%- if bitemporal %}
            and window_source.{{ known_column }} <= window_bounds.window_cutoff
            {%- endif %}
            {%- if superseded_column %}
            and (
                window_source.{{ superseded_column }} is null
                or window_source.{{ superseded_column }} > window_bounds.window_cutoff
            )
            {%- endif %}
    ),

    window_results as (
        select
            window_entity,
            window_cutoff
            {%- for window in windows %}
            {%- set inside = trainset.pit_compare(effective_column, '>', 'window_start_' ~ window) %}
            {%- for aggregation in aggregations %}
            {%- set column = aggregation['column'] %}
            {%- set value = '1' if column == '*' else column %}
            {%- for function in aggregation['functions'] %}
            {%- set name = trainset._window_column_name(prefix, aggregation, function, window) %},
            {%- if function == 'count' %}
            count(case when {{ inside }} then {{ value }} end) as {{ name }}
            {%- elif function == 'count_distinct' %}
            count(distinct case when {{ inside }} then {{ value }} end) as {{ name }}
            {%- elif function == 'mean' %}
            avg(case when {{ inside }} then {{ value }} end) as {{ name }}
            {%- else %}
            {{ function }}(case when {{ inside }} then {{ value }} end) as {{ name }}
            {%- endif %}
            {%- endfor %}
            {%- endfor %}
            {%- endfor %}
        from window_events
        group by window_entity, window_cutoff
    )

    {{ trainset._window_final_select(spine, aggregations, windows, entity_column, cutoff_column, prefix) }}
{%- endmacro %}


{% macro default__window_aggregates(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, known_column, bitemporal, superseded_column, embargo, method, prefix,
    expected_events_per_window
) -%}
    {%- set embargo = embargo if embargo is mapping
        else trainset._pit_interval(embargo, 'window_aggregates', 'embargo', false) -%}
    {{ trainset._window_range_join(
        spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
        effective_column, known_column, bitemporal, superseded_column, embargo, prefix
    ) }}
{%- endmacro %}


{#
    Whether the running totals of an aggregation are exact: counts always; sum and mean only
    over integers and decimals (a DOUBLE running total loses the small values next to large
    ones, so total(end) - total(start) can differ from the window's own sum). The type is read
    from a cast in the aggregation's column (`cast(x as decimal(38, 2))`, `x::bigint`) or, for a
    plain column of a relation, from the database.
#}
{% macro _window_exact_type(type_text) -%}
    {%- set type_text = type_text | trim | lower -%}
    {%- for exact in [
        'decimal', 'numeric', 'hugeint', 'uhugeint', 'bigint', 'ubigint', 'integer', 'uinteger',
        'int', 'smallint', 'usmallint', 'tinyint', 'utinyint'
    ] -%}
        {%- if type_text == exact
            or type_text.startswith(exact ~ '(')
            or type_text.startswith(exact ~ ' ')
            or type_text in ['int2', 'int4', 'int8', 'int16', 'int32', 'int64', 'int128'] -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{% macro _window_running_total_is_exact(aggregation, events) -%}
    {%- set needs_sum = [] -%}
    {%- for function in aggregation['functions'] -%}
        {%- if function in ['sum', 'mean'] -%}{%- do needs_sum.append(function) -%}{%- endif -%}
    {%- endfor -%}
    {%- if not needs_sum or aggregation['column'] == '*' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set column = aggregation['column'] | trim -%}
    {%- set lowered = column.lower() -%}
    {%- if lowered.startswith('cast(') and lowered.endswith(')') and ' as ' in lowered -%}
        {{ return(trainset._window_exact_type(lowered[:-1].split(' as ')[-1])) }}
    {%- endif -%}
    {%- if '::' in lowered -%}
        {{ return(trainset._window_exact_type(lowered.split('::')[-1])) }}
    {%- endif -%}
    {%- if execute and events is not string and events is not none -%}
        {%- for described in adapter.get_columns_in_relation(events) -%}
            {%- if described.name | lower == lowered -%}
                {{ return(trainset._window_exact_type(described.data_type)) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}


{#
    DuckDB: `cumulative` where it applies and is exact; otherwise the range join. `auto` picks
    cumulative only when it is exact and expected_events_per_window is above 50. An explicit
    `cumulative` over a sum or mean whose running total would not be exact (a floating column,
    or a type that cannot be read) is a compile-time error: cast the column to a decimal, or
    use range_join.
#}
{% macro duckdb__window_aggregates(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, known_column, bitemporal, superseded_column, embargo, method, prefix,
    expected_events_per_window
) -%}
    {%- set embargo = embargo if embargo is mapping
        else trainset._pit_interval(embargo, 'window_aggregates', 'embargo', false) -%}
    {%- set cumulative_ok = superseded_column is none and not bitemporal -%}
    {%- set inexact = [] -%}
    {%- for aggregation in aggregations -%}
        {%- for function in aggregation['functions'] -%}
            {%- if function not in ['count', 'sum', 'mean'] -%}
                {%- set cumulative_ok = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if (method == 'cumulative' or expected_events_per_window > 50)
            and not trainset._window_running_total_is_exact(aggregation, events) -%}
            {%- do inexact.append(aggregation['column']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if method == 'cumulative' and inexact -%}
        {{ exceptions.raise_compiler_error(
            "window_aggregates in model '" ~ trainset._pit_model_name() ~ "': method 'cumulative' sums "
            ~ inexact | join(', ') ~ " as running totals, which is exact only for integer and decimal columns "
            ~ "(a floating running total loses small values next to large ones); cast the column, "
            ~ "e.g. 'cast(amount as decimal(38, 2))', or use method 'range_join' or 'auto'"
        ) }}
    {%- endif -%}
    {%- set use_cumulative = cumulative_ok and not inexact and (
        method == 'cumulative' or (method == 'auto' and expected_events_per_window > 50)
    ) -%}
    {%- if use_cumulative -%}
        {{ trainset._window_cumulative(
            spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
            effective_column, embargo, prefix
        ) }}
    {%- else -%}
        {{ trainset._window_range_join(
            spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
            effective_column, known_column, bitemporal, superseded_column, embargo, prefix
        ) }}
    {%- endif -%}
{%- endmacro %}


{#
    Count, sum and mean from running totals per entity ordered by effective_at: the window
    (end - N, end] holds total(end) - total(end - N), each looked up with an ASOF JOIN on exact
    nanosecond keys (so month embargoes and nanosecond inputs compare exactly). Used only
    where the totals are exact (counts, integers, decimals).
#}
{% macro _window_cumulative(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, embargo, prefix
) -%}
    {%- set measures = [] -%}
    {%- for aggregation in aggregations -%}
        {%- if aggregation['column'] not in measures -%}
            {%- do measures.append(aggregation['column']) -%}
        {%- endif -%}
    {%- endfor %}
    with

    window_keys as (
        select distinct
            {{ entity_column }} as window_entity,
            {{ cutoff_column }} as window_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    ),

    window_bounds as (
        select
            window_entity,
            window_cutoff,
            {%- if embargo %}
            {{ trainset.pit_bound('window_cutoff', embargo, 'window_end') }},
            {%- endif %}
            {%- for window in windows | unique %}
            {{ trainset.pit_bound(
                'window_cutoff',
                trainset._window_start_shift(embargo, window),
                'window_start_' ~ window
            ) }},
            {%- endfor %}
            {{ trainset._pit_key('window_cutoff') }} as window_cutoff_key
        from window_keys
    ),

    window_running as (
        select distinct on (window_entity, window_key)
            window_entity,
            window_key
            {%- for measure in measures %}
            {%- set value = '1' if measure == '*' else measure %},
            count({{ value }}) over window_history as window_count_{{ loop.index }},
            coalesce(sum({{ value }}) over window_history, 0) as window_sum_{{ loop.index }}
            {%- endfor %}
        from (
            select
                {{ event_entity_column }} as window_entity,
                {{ trainset._pit_key(effective_column) }} as window_key,
                *
            from {{ events }}
            where {{ effective_column }} is not null and {{ event_entity_column }} is not null
        ) as window_source
        window window_history as (
            partition by window_entity
            order by window_key
            range between unbounded preceding and current row
        )
    ),

    window_results as (
        select
            window_bounds.window_entity,
            window_bounds.window_cutoff
            {%- for window in windows %}
            {%- set w = loop.index %}
            {%- for aggregation in aggregations %}
            {%- set m = measures.index(aggregation['column']) + 1 %}
            {%- for function in aggregation['functions'] %}
            {%- set name = trainset._window_column_name(prefix, aggregation, function, window) %}
            {%- set count_expr = 'coalesce(window_end.window_count_' ~ m ~ ', 0)'
                ~ ' - coalesce(window_start_' ~ w ~ '.window_count_' ~ m ~ ', 0)' %}
            {%- set sum_expr = 'coalesce(window_end.window_sum_' ~ m ~ ', 0)'
                ~ ' - coalesce(window_start_' ~ w ~ '.window_sum_' ~ m ~ ', 0)' %},
            {%- if function == 'count' %}
            {{ count_expr }} as {{ name }}
            {%- elif function == 'sum' %}
            {{ sum_expr }} as {{ name }}
            {%- else %}
            ({{ sum_expr }}) / nullif({{ count_expr }}, 0) as {{ name }}
            {%- endif %}
            {%- endfor %}
            {%- endfor %}
            {%- endfor %}
        from window_bounds
        asof left join window_running as window_end
            on window_bounds.window_entity = window_end.window_entity
            {%- if embargo %}
            and {{ trainset._pit_key_of('window_bounds.window_end_at', 'window_bounds.window_end_ns') }} >= window_end.window_key
            {%- else %}
            and window_bounds.window_cutoff_key >= window_end.window_key
            {%- endif %}
        {%- for window in windows %}
        asof left join window_running as window_start_{{ loop.index }}
            on window_bounds.window_entity = window_start_{{ loop.index }}.window_entity
            and {{ trainset._pit_key_of('window_bounds.window_start_' ~ window ~ '_at', 'window_bounds.window_start_' ~ window ~ '_ns') }}
            >= window_start_{{ loop.index }}.window_key
        {%- endfor %}
    )

    {{ trainset._window_final_select(spine, aggregations, windows, entity_column, cutoff_column, prefix) }}
{%- endmacro %}
