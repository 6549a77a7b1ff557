{#
    Time arithmetic shared by the point-in-time macros.

    `_pit_interval` reads a ttl, embargo or window argument ('30 days', '1 month', '6 hours',
    '1 year 2 months') into months, days and microseconds and refuses, at compile time and
    naming the model and the argument, a text it cannot read, a negative part, and a zero or
    negative length where a positive one is required (ttl, window).

    `pit_bound` and `pit_compare` compare an event time with `cutoff - shift` exactly at the
    precision of the inputs. `cutoff - interval` is SQL's own arithmetic (months first, clamped
    to the month's end, then days, then time), so month intervals mean the same on every
    engine. DuckDB returns a microsecond TIMESTAMP from TIMESTAMP_NS arithmetic, which would cut
    the cutoff's nanoseconds; its bound is therefore the microsecond part shifted plus the
    cutoff's nanoseconds within the microsecond, and the comparison looks at both. Infinite
    cutoffs stay infinite.
#}

{# The name of the model being compiled, for error messages. #}
{% macro _pit_model_name() -%}
    {%- if model is defined and model and model.get('name') -%}
        {{ return(model['name']) }}
    {%- elif this is defined and this -%}
        {{ return(this | string) }}
    {%- endif -%}
    {{ return('(unknown model)') }}
{%- endmacro %}


{#
    Parse an interval text into {'text', 'months', 'days', 'micros'}; none stays none.
    positive: zero or negative length is an error (ttl, window); otherwise only a negative part
    is (embargo may be zero).
#}
{% macro _pit_interval(value, macro_name, argument, positive) -%}
    {%- if value is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set model_name = trainset._pit_model_name() -%}
    {%- set hint = " in model '" ~ model_name ~ "': " ~ argument ~ " " -%}
    {%- set units = {
        'year': [12, 0, 0], 'years': [12, 0, 0], 'month': [1, 0, 0], 'months': [1, 0, 0],
        'mon': [1, 0, 0], 'mons': [1, 0, 0], 'week': [0, 7, 0], 'weeks': [0, 7, 0],
        'day': [0, 1, 0], 'days': [0, 1, 0], 'hour': [0, 0, 3600000000],
        'hours': [0, 0, 3600000000], 'minute': [0, 0, 60000000], 'minutes': [0, 0, 60000000],
        'second': [0, 0, 1000000], 'seconds': [0, 0, 1000000], 'millisecond': [0, 0, 1000],
        'milliseconds': [0, 0, 1000], 'microsecond': [0, 0, 1], 'microseconds': [0, 0, 1],
    } -%}
    {%- set text = (value | string) | trim -%}
    {%- set tokens = text.lower().split() -%}
    {%- set total = {'months': 0, 'days': 0, 'micros': 0, 'negative': false} -%}
    {%- if tokens | length == 0 or tokens | length % 2 != 0 -%}
        {{ exceptions.raise_compiler_error(
            macro_name ~ hint ~ "'" ~ text ~ "' is not an interval; write it as amounts and units, e.g. '30 days', '6 hours' or '1 month'"
        ) }}
    {%- endif -%}
    {%- for index in range(0, tokens | length, 2) -%}
        {%- set amount = tokens[index] -%}
        {%- set unit = tokens[index + 1] -%}
        {%- set digits = amount[1:] if amount.startswith('-') or amount.startswith('+') else amount -%}
        {%- if not digits.isdigit() or unit not in units -%}
            {{ exceptions.raise_compiler_error(
                macro_name ~ hint ~ "'" ~ text ~ "' is not an interval; write it as whole amounts and units (years, months, weeks, days, hours, minutes, seconds, milliseconds, microseconds), e.g. '30 days'"
            ) }}
        {%- endif -%}
        {%- set number = digits | int -%}
        {%- if amount.startswith('-') and number > 0 -%}
            {%- do total.update({'negative': true}) -%}
        {%- endif -%}
        {%- set factor = units[unit] -%}
        {%- do total.update({
            'months': total['months'] + number * factor[0],
            'days': total['days'] + number * factor[1],
            'micros': total['micros'] + number * factor[2],
        }) -%}
    {%- endfor -%}
    {%- set empty = total['months'] == 0 and total['days'] == 0 and total['micros'] == 0 -%}
    {%- if total['negative'] -%}
        {{ exceptions.raise_compiler_error(
            macro_name ~ hint ~ "'" ~ text ~ "' is negative; give a length of zero or more, e.g. '1 hour'"
        ) }}
    {%- endif -%}
    {%- if positive and empty -%}
        {{ exceptions.raise_compiler_error(
            macro_name ~ hint ~ "'" ~ text ~ "' is zero: that would be an empty window; give a positive length, e.g. '30 days', or leave " ~ argument ~ " out"
        ) }}
    {%- endif -%}
    {%- if empty -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'text': text, 'months': total['months'], 'days': total['days'], 'micros': total['micros']}) }}
{%- endmacro %}


{# A window length in days: a positive whole number, or a compile-time error. #}
{% macro _pit_window_days(window, macro_name) -%}
    {%- if window is not number or window != (window | int) or window <= 0 -%}
        {{ exceptions.raise_compiler_error(
            macro_name ~ " in model '" ~ trainset._pit_model_name() ~ "': window " ~ window
            ~ " is not a positive whole number of days; use e.g. [7, 30, 90]"
        ) }}
    {%- endif -%}
    {{ return(window | int) }}
{%- endmacro %}


{#
    Select-list items naming the bound `cutoff - shift` as <name>_at (and, on DuckDB,
    <name>_ns: the cutoff's nanoseconds within its microsecond). shift: parsed interval or none.
#}
{% macro pit_bound(cutoff, shift, name) -%}
    {{ return(adapter.dispatch('pit_bound', 'trainset')(cutoff, shift, name)) }}
{%- endmacro %}

{% macro default__pit_bound(cutoff, shift, name) -%}
    {%- if shift -%}
        ({{ cutoff }} - interval '{{ shift.text }}') as {{ name }}_at
    {%- else -%}
        {{ cutoff }} as {{ name }}_at
    {%- endif -%}
{%- endmacro %}

{# Nanoseconds of a DuckDB timestamp within its microsecond (0 below nanosecond precision). #}
{% macro _pit_sub_micro(expression) -%}
    (nanosecond({{ expression }}) % 1000)
{%- endmacro %}

{# The microsecond floor of a DuckDB timestamp as a naive UTC TIMESTAMP (epoch_us truncates
   towards zero before 1970, hence the correction). #}
{% macro _pit_micro_floor(expression) -%}
    make_timestamp(epoch_us({{ expression }}) - case
        when {{ trainset._pit_sub_micro(expression) }} > 0 and {{ expression }} < timestamp '1970-01-01'
            then 1 else 0
    end)
{%- endmacro %}

{% macro duckdb__pit_bound(cutoff, shift, name) -%}
    {%- if shift -%}
        case
            when isinf({{ cutoff }}) then cast({{ cutoff }} as timestamp)
            else {{ trainset._pit_micro_floor(cutoff) }} - interval '{{ shift.text }}'
        end as {{ name }}_at,
        coalesce({{ trainset._pit_sub_micro(cutoff) }}, 0) as {{ name }}_ns
    {%- else -%}
        {{ cutoff }} as {{ name }}_at,
        0 as {{ name }}_ns
    {%- endif -%}
{%- endmacro %}


{#
    `expression <op> bound`, exact at the inputs' precision. bound: the qualified prefix of the
    columns `pit_bound` made (e.g. 'keys.pit_end'). op: <=, <, >=, >. shifted: whether the
    bound was made with a shift (an unshifted bound is the cutoff itself, compared directly).
#}
{% macro pit_compare(expression, op, bound, shifted=true) -%}
    {{ return(adapter.dispatch('pit_compare', 'trainset')(expression, op, bound, shifted)) }}
{%- endmacro %}

{% macro default__pit_compare(expression, op, bound, shifted) -%}
    {{ expression }} {{ op }} {{ bound }}_at
{%- endmacro %}

{% macro duckdb__pit_compare(expression, op, bound, shifted) -%}
    {%- set at = bound ~ '_at' -%}
    {%- if not shifted -%}
        {{ return(expression ~ ' ' ~ op ~ ' ' ~ at) }}
    {%- endif -%}
    {%- set next = '(' ~ at ~ " + interval '1 microsecond')" -%}
    {%- set within = trainset._pit_sub_micro(expression) ~ ' ' ~ op ~ ' ' ~ bound ~ '_ns' -%}
    {#- `expression = at` settles equal infinite instants (an infinite bound has no next
        microsecond and no nanoseconds). -#}
    {%- if op == '<=' -%}
        ({{ expression }} <= {{ at }} or ({{ expression }} < {{ next }} and {{ within }}))
    {%- elif op == '<' -%}
        ({{ expression }} < {{ at }} or ({{ expression }} < {{ next }} and {{ within }}))
    {%- elif op == '>=' -%}
        ({{ expression }} >= {{ next }} or ({{ expression }} >= {{ at }} and {{ within }}))
    {%- elif op == '>' -%}
        (({{ expression }} >= {{ next }} and {{ expression }} != {{ at }}) or ({{ expression }} >= {{ at }} and {{ within }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("pit_compare: op must be <=, <, >= or >, got " ~ op) }}
    {%- endif -%}
{%- endmacro %}


{#
    DuckDB only: an instant as an exact HUGEINT count of nanoseconds since 1970 (microsecond
    inputs are whole thousands), so that one inequality (an ASOF JOIN, a sort) can order
    instants of any precision after a month-aware shift. Infinite instants map beyond every
    finite one.
#}
{% macro _pit_key_of(at, ns) -%}
    case
        when isinf({{ at }}) then (case when {{ at }} > timestamp '1970-01-01' then 1 else -1 end) * cast(1e30 as hugeint)
        else cast(epoch_us({{ at }}) as hugeint) * 1000 + {{ ns }}
    end
{%- endmacro %}

{% macro _pit_key(expression) -%}
    {{ trainset._pit_key_of(trainset._pit_micro_floor_or_inf(expression), trainset._pit_sub_micro(expression)) }}
{%- endmacro %}

{% macro _pit_micro_floor_or_inf(expression) -%}
    (case when isinf({{ expression }}) then cast({{ expression }} as timestamp) else {{ trainset._pit_micro_floor(expression) }} end)
{%- endmacro %}


{#
    DuckDB only: the key of the first cutoff c at which `c - shift >= moment` holds (strict:
    `>`), for a moment given as a microsecond TIMESTAMP `at` plus `ns` nanoseconds. Without
    months this is moment + shift. With months, c - shift = (c - months) - rest: the first c is
    (moment + rest) + months unless that addition was clamped to a shorter month's end (Jan 30
    + 1 month = Feb 29, whose minus 1 month is Jan 29): then no cutoff in that month reaches the
    moment and the first one is the next month's first instant.
#}
{% macro _pit_servable_key(at, ns, shift, strict) -%}
    {%- if strict -%}
        {#- `> moment` is `>= moment + 1 ns` -#}
        {%- set at = '(case when ' ~ ns ~ " = 999 then " ~ at ~ " + interval '1 microsecond' else " ~ at ~ ' end)' -%}
        {%- set ns = '((' ~ ns ~ ' + 1) % 1000)' -%}
    {%- endif -%}
    {%- set rest = at -%}
    {%- if shift.days -%}{%- set rest = rest ~ ' + to_days(' ~ shift.days ~ ')' -%}{%- endif -%}
    {%- if shift.micros -%}{%- set rest = rest ~ ' + to_microseconds(' ~ shift.micros ~ ')' -%}{%- endif -%}
    {%- set rest = '(' ~ rest ~ ')' -%}
    {%- if not shift.months -%}
        {{ trainset._pit_key_of(rest, ns) }}
    {%- else -%}
        {%- set candidate = '(' ~ rest ~ ' + to_months(' ~ shift.months ~ '))' -%}
        case
            when isinf({{ at }}) or {{ candidate }} - to_months({{ shift.months }}) = {{ rest }}
                then {{ trainset._pit_key_of(candidate, ns) }}
            else cast(epoch_us(date_trunc('month', {{ candidate }}) + interval '1 month') as hugeint) * 1000
        end
    {%- endif -%}
{%- endmacro %}
