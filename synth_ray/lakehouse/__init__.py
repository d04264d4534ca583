"""Reading real tables and writing synthetic ones: Parquet, CSV and Delta Lake (embedded)."""
