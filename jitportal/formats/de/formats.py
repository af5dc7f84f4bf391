"""German formats, mirroring the English ones (jitportal/formats/en/formats.py).

Every time shown to a person carries its zone (``T``: "CET", "GMT", "UTC"); dates read as
German readers write them: "5. März 2027, 14:30 CET".
"""

DATE_FORMAT = "j. N Y"
TIME_FORMAT = "H:i T"
DATETIME_FORMAT = "j. N Y, H:i T"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y, H:i T"
MONTH_DAY_FORMAT = "j. N"
YEAR_MONTH_FORMAT = "N Y"
FIRST_DAY_OF_WEEK = 1  # Monday
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%y %H:%M",
]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
