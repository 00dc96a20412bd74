UPDATE t SET name = 'it''s' -- it's
WHERE id = $$1$$::INT