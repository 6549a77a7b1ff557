with

labels as (
    select * from {{ ref('lbl_churn_30d') }}
),

spine as (
    select
        customer_id,
        cutoff_at,
        is_churned
    from labels
),

features as (
    {{ trainset.customer_features('spine', ['customer_id', 'cutoff_at', 'is_churned']) }}
),

final as (
    -- The feature columns are the macro's, put in the order of the contract in the model's
    -- YAML (an enforced contract selects its columns by name): no second list to keep in step.
    select * from features
)

select * from final
