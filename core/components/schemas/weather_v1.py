"""Seattle daily weather 2012-2015 (vega_datasets): one row per day, Celsius, millimetres.

Contract for schema modules: define `SCHEMA`, a pandera `DataFrameSchema` over the raw
columns (the time column is checked by factory itself: parseable, no nulls, unique per
entity), and `TIME_ORDER`: "increasing" to require rows in strictly increasing time order
in the source, or "any" to let factory sort them.
"""

import pandera.pandas as pa

TIME_ORDER = "increasing"

WEATHER_KINDS = ["drizzle", "rain", "sun", "snow", "fog"]

SCHEMA = pa.DataFrameSchema(
    {
        "precipitation": pa.Column(
            float, pa.Check.in_range(0.0, 500.0), nullable=False, coerce=True
        ),
        "temp_max": pa.Column(float, pa.Check.in_range(-40.0, 50.0), nullable=False, coerce=True),
        "temp_min": pa.Column(float, pa.Check.in_range(-40.0, 50.0), nullable=False, coerce=True),
        "wind": pa.Column(float, pa.Check.in_range(0.0, 60.0), nullable=False, coerce=True),
        "weather": pa.Column(str, pa.Check.isin(WEATHER_KINDS), nullable=False),
    },
    strict=False,
)
