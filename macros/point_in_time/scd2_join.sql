{#
    scd2_join: attach to every spine row the version of a slowly changing dimension valid at
    its cutoff: valid_from <= cutoff < coalesce(valid_to, +infinity). Works on dbt snapshots
    (dbt_valid_from / dbt_valid_to, the defaults) and on change-log histories.

    One output row per spine row (computed per distinct (entity, cutoff) and joined back); the
    spine's columns in order, then `columns` prefixed. If versions overlap, the one with the
    latest valid_from wins; none valid: nulls. Portable SQL on every engine: DuckDB turns the
    two inequalities into an interval join itself, so it needs no implementation of its own.
#}
{% macro scd2_join(
    spine,
    history,
    columns,
    entity_column='entity_id',
    cutoff_column='cutoff_at',
    history_entity_column=none,
    valid_from_column='dbt_valid_from',
    valid_to_column='dbt_valid_to',
    prefix=''
) -%}
    {{ return(adapter.dispatch('scd2_join', 'trainset')(
        spine, history, columns, entity_column, cutoff_column,
        history_entity_column or entity_column, valid_from_column, valid_to_column, prefix
    )) }}
{%- endmacro %}


{% macro default__scd2_join(
    spine, history, columns, entity_column, cutoff_column, history_entity_column,
    valid_from_column, valid_to_column, prefix
) -%}
    with

    scd2_keys as (
        select distinct
            {{ entity_column }} as scd2_entity,
            {{ cutoff_column }} as scd2_cutoff
        from {{ spine }}
        where {{ entity_column }} is not null and {{ cutoff_column }} is not null
    ),

    scd2_matches as (
        select
            scd2_keys.scd2_entity,
            scd2_keys.scd2_cutoff,
            {%- for column in columns %}
            scd2_history.{{ column }} as scd2_value_{{ loop.index }},
            {%- endfor %}
            row_number() over (
                partition by scd2_keys.scd2_entity, scd2_keys.scd2_cutoff
                order by scd2_history.{{ valid_from_column }} desc
            ) as scd2_rank
        from scd2_keys
        inner join {{ history }} as scd2_history
            on scd2_keys.scd2_entity = scd2_history.{{ history_entity_column }}
            and scd2_history.{{ valid_from_column }} <= scd2_keys.scd2_cutoff
            and (
                scd2_history.{{ valid_to_column }} is null
                or scd2_keys.scd2_cutoff < scd2_history.{{ valid_to_column }}
            )
    )

    select
        scd2_spine.*
        {%- for column in columns %},
        scd2_matches.scd2_value_{{ loop.index }} as {{ prefix }}{{ column }}
        {%- endfor %}
    from {{ spine }} as scd2_spine
    left join scd2_matches
        on scd2_spine.{{ entity_column }} = scd2_matches.scd2_entity
        and scd2_spine.{{ cutoff_column }} = scd2_matches.scd2_cutoff
        and scd2_matches.scd2_rank = 1
{%- endmacro %}
