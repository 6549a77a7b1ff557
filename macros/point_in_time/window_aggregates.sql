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

    Method: `range_join` (the default, and the only formulation of `default__`) joins each
    distinct (entity, cutoff) to the events of its widest window and aggregates with
    conditional aggregates: O(N * k) for k events per entity and widest window, the fastest
    shape when windows hold few events. `cumulative` (DuckDB) answers count, sum and mean from
    running totals per entity looked up with one ASOF JOIN at the window end and one per window
    start: O((N + M) log M) whatever the density. It applies only where running totals are
    exact: no bitemporal filter, no superseded_column and only count, sum and mean (min, max
    and count_distinct need the events themselves); otherwise the range join is used. `auto`
    picks `cumulative` when it applies and `expected_events_per_window` (a hint from the caller,
    default 10) is above 50.
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
        {{ exceptions.raise_compiler_error("window_aggregates: method must be auto, range_join or cumulative, got " ~ method) }}
    {%- endif -%}
    {{ return(adapter.dispatch('window_aggregates', 'trainset')(
        spine, events, aggregations, windows, entity_column, cutoff_column,
        event_entity_column or entity_column, effective_column, known_column, bitemporal,
        superseded_column, embargo, method, prefix, expected_events_per_window
    )) }}
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
    {%- set widest = windows | max -%}
    {%- set end = trainset._pit_shifted('window_keys.window_cutoff', embargo) %}
    with

    window_keys as (
        select distinct
            {{ entity_column }} as window_entity,
            {{ cutoff_column }} as window_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    ),

    window_events as (
        select
            window_keys.window_entity,
            window_keys.window_cutoff,
            window_source.*
        from window_keys
        inner join {{ events }} as window_source
            on window_keys.window_entity = window_source.{{ event_entity_column }}
            and window_source.{{ effective_column }} <= {{ end }}
            and window_source.{{ effective_column }} > {{ end }} - interval '{{ widest }} days'
            {%- if bitemporal %}
            and window_source.{{ known_column }} <= window_keys.window_cutoff
            {%- endif %}
            {%- if superseded_column %}
            and (
                window_source.{{ superseded_column }} is null
                or window_source.{{ superseded_column }} > window_keys.window_cutoff
            )
            {%- endif %}
    ),

    window_results as (
        select
            window_entity,
            window_cutoff
            {%- for window in windows %}
            {%- set inside = effective_column ~ ' > ' ~ trainset._pit_shifted('window_cutoff', embargo) ~ " - interval '" ~ window ~ " days'" %}
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
    {{ trainset._window_range_join(
        spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
        effective_column, known_column, bitemporal, superseded_column, embargo, prefix
    ) }}
{%- endmacro %}


{% macro duckdb__window_aggregates(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, known_column, bitemporal, superseded_column, embargo, method, prefix,
    expected_events_per_window
) -%}
    {%- set cumulative_ok = superseded_column is none -%}
    {%- for aggregation in aggregations -%}
        {%- for function in aggregation['functions'] -%}
            {%- if function not in ['count', 'sum', 'mean'] -%}
                {%- set cumulative_ok = false -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set use_cumulative = cumulative_ok and (
        method == 'cumulative' or (method == 'auto' and expected_events_per_window > 50)
    ) -%}
    {%- if use_cumulative -%}
        {{ trainset._window_cumulative(
            spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
            effective_column, known_column, bitemporal, embargo, prefix
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
    (end - N, end] holds total(end) - total(end - N), each looked up with an ASOF JOIN.
#}
{% macro _window_cumulative(
    spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
    effective_column, known_column, bitemporal, embargo, prefix
) -%}
    {%- if bitemporal -%}
        {{ return(trainset._window_range_join(
            spine, events, aggregations, windows, entity_column, cutoff_column, event_entity_column,
            effective_column, known_column, bitemporal, none, embargo, prefix
        )) }}
    {%- endif -%}
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

    window_running as (
        select distinct on (window_entity, window_at)
            window_entity,
            window_at
            {%- for measure in measures %}
            {%- set value = '1' if measure == '*' else measure %},
            count({{ value }}) over window_history as window_count_{{ loop.index }},
            coalesce(sum({{ value }}) over window_history, 0) as window_sum_{{ loop.index }}
            {%- endfor %}
        from (
            select
                {{ event_entity_column }} as window_entity,
                cast({{ effective_column }} as timestamp) as window_at,
                *
            from {{ events }}
            where {{ effective_column }} is not null and {{ event_entity_column }} is not null
        ) as window_source
        window window_history as (
            partition by window_entity
            order by window_at
            range between unbounded preceding and current row
        )
    ),

    window_results as (
        select
            window_keys.window_entity,
            window_keys.window_cutoff
            {%- for window in windows %}
            {%- set w = loop.index %}
            {%- for aggregation in aggregations %}
            {%- set m = measures.index(aggregation['column']) + 1 %}
            {%- for function in aggregation['functions'] %}
            {%- set name = trainset._window_column_name(prefix, aggregation, function, window) %}
            {%- set count_expr = 'coalesce(window_end.window_count_' ~ m ~ ', 0) - coalesce(window_start_' ~ w ~ '.window_count_' ~ m ~ ', 0)' %}
            {%- set sum_expr = 'coalesce(window_end.window_sum_' ~ m ~ ', 0) - coalesce(window_start_' ~ w ~ '.window_sum_' ~ m ~ ', 0)' %},
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
        from window_keys
        asof left join window_running as window_end
            on window_keys.window_entity = window_end.window_entity
            and {{ trainset._pit_shifted('window_keys.window_cutoff', embargo) }} >= window_end.window_at
        {%- for window in windows %}
        asof left join window_running as window_start_{{ loop.index }}
            on window_keys.window_entity = window_start_{{ loop.index }}.window_entity
            and {{ trainset._pit_shifted('window_keys.window_cutoff', embargo) }} - interval '{{ window }} days'
            >= window_start_{{ loop.index }}.window_at
        {%- endfor %}
    )

    {{ trainset._window_final_select(spine, aggregations, windows, entity_column, cutoff_column, prefix) }}
{%- endmacro %}
