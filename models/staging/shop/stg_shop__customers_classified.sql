-- A table: the customers file is one current state rewritten with every load, read whole.
{{ config(materialized='table') }}

with

base as {{ trainset.inline_cte() }} (
    select * from {{ ref('base_shop__customers') }}
),

{{ trainset.classify_duplicates(
    checked_relation='base',
    key_columns=['customer_id'],
    payload_columns=[
        'email', 'signup_at_raw', 'plan_raw', 'segment_raw', 'country_raw', 'updated_at_raw',
    ],
) }}

select * from classified
