select * from {{ ref('numbers') }}
