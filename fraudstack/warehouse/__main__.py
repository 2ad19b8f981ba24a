"""``python -m fraudstack.warehouse``: re-render the DDL files under ``fraudstack/data/warehouse/``."""

from fraudstack.warehouse.migrations import render_files

for path, text in render_files().items():
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
