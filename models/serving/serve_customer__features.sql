{#
    The latest feature vector of every customer, computed by the same macro as the training
    set with each customer's spine row at the serving time: `var('serving_at')` when given,
    otherwise the last load time seen in the order feed.
#}
with

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

orders as (
    select * from {{ ref('feat_customer__orders') }}
),

serving_time as (
    select
        {%- if var('serving_at', none) %}
        cast('{{ var("serving_at") }}' as timestamp) as served_at
        {%- else %}
            max(known_at) as served_at
        {%- endif %}
    from orders
),

spine as (
    select
        customers.customer_id,
        serving_time.served_at as cutoff_at,
        serving_time.served_at
    from customers
    cross join serving_time
),

features as (
    {{ trainset.customer_features('spine', ['customer_id', 'served_at']) }}
),

final as (
    -- The feature columns are the macro's, put in the order of the contract in the model's
    -- YAML (an enforced contract selects its columns by name): no second list to keep in step.
    select * from features
)

select * from final
