{{ trainset.quarantine_rows(ref('base_shop__products'), 'products', 'product_id', ['product_id', 'product_name', 'product_category', 'unit_price', 'updated_at_raw']) }}
