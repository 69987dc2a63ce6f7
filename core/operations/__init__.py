"""Operations: drift checks, promotion gates, tiers, batch prediction with lineage, alerts."""
