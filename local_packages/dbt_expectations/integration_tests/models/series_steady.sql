select * from {{ ref('series') }} where day < '2025-02-09'
