select 1 as id, cast(current_timestamp as timestamp) as loaded_at
