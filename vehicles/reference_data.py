"""Reference data for Lạng Sơn: the border gates, the two smart-gate routes, their lanes and yards.

Gates and routes are facts of DOMAIN.md. Lane layouts, capacities, operating hours and yard sizes are
sample values: they are loaded once and from then on belong to the gate management board, who edit
them in the admin (``load_reference`` never overwrites a row that exists).
"""

from datetime import time

# (code, country, kind, name_vi, name_en, name_zh, counterpart code)
GATES = [
    ("youyiguan", "CN", "international", "Hữu Nghị Quan", "Youyiguan", "友谊关", None),
    ("pingxiang-railway", "CN", "international", "Ga Bằng Tường", "Pingxiang Railway Station", "凭祥站", None),
    ("aidian", "CN", "main", "Ái Điểm", "Aidian", "爱店", None),
    ("puzhai", "CN", "secondary", "Pò Chài", "Puzhai", "浦寨", None),
    ("nongyao", "CN", "secondary", "Lũng Nghịu", "Nongyao", "弄尧", None),
    (
        "huu-nghi",
        "VN",
        "international",
        "Cửa khẩu quốc tế Hữu Nghị",
        "Huu Nghi International Border Gate",
        "友谊口岸",
        "youyiguan",
    ),
    (
        "dong-dang-railway",
        "VN",
        "international",
        "Ga đường sắt liên vận quốc tế Đồng Đăng",
        "Dong Dang International Railway Station",
        "同登火车站",
        "pingxiang-railway",
    ),
    ("chi-ma", "VN", "main", "Cửa khẩu chính Chi Ma", "Chi Ma Border Gate", "支麻口岸", "aidian"),
    ("tan-thanh", "VN", "secondary", "Cửa khẩu phụ Tân Thanh", "Tan Thanh Border Gate", "新清口岸", "puzhai"),
    ("coc-nam", "VN", "secondary", "Cửa khẩu phụ Cốc Nam", "Coc Nam Border Gate", "谷南口岸", "nongyao"),
    ("na-hinh", "VN", "secondary", "Cửa khẩu phụ Na Hình", "Na Hinh Border Gate", "", None),
    ("na-nua", "VN", "secondary", "Cửa khẩu phụ Nà Nưa", "Na Nua Border Gate", "", None),
    ("binh-nghi", "VN", "secondary", "Cửa khẩu phụ Bình Nghi", "Binh Nghi Border Gate", "", None),
]

# (code, name, gate, counterpart gate, smart gate)
ROUTES = [
    ("1119-1120", "Đường chuyên dùng vận chuyển hàng hóa khu vực mốc 1119–1120", "huu-nghi", "youyiguan", True),
    ("1088/2-1089", "Đường chuyên dùng vận chuyển hàng hóa khu vực mốc 1088/2–1089", "huu-nghi", "youyiguan", True),
]

ROUND_THE_CLOCK = (None, None)
DAY = (time(7, 0), time(22, 0))
NIGHT = (time(22, 0), time(6, 0))  # crosses midnight

# (route, code, direction, current direction, purpose, capacity/h, max in lane, hours, inspection bay)
LANES = [
    ("1119-1120", "1119-EX1", "export", "export", "cargo", 30, 4, ROUND_THE_CLOCK, False),
    ("1119-1120", "1119-EX2", "export", "export", "cargo", 20, 3, ROUND_THE_CLOCK, True),
    ("1119-1120", "1119-IM1", "import", "import", "cargo", 30, 4, ROUND_THE_CLOCK, False),
    ("1119-1120", "1119-IM2", "import", "import", "cargo", 20, 3, ROUND_THE_CLOCK, True),
    ("1119-1120", "1119-REV1", "reversible", "export", "cargo", 25, 4, DAY, False),
    ("1119-1120", "1119-ER1", "import", "import", "empty_return", 40, 5, NIGHT, False),
    ("1119-1120", "1119-AV1", "export", "export", "autonomous", 12, 2, ROUND_THE_CLOCK, False),
    ("1088/2-1089", "1088-EX1", "export", "export", "cargo", 25, 4, DAY, True),
    ("1088/2-1089", "1088-IM1", "import", "import", "cargo", 25, 4, DAY, True),
    ("1088/2-1089", "1088-REV1", "reversible", "import", "cargo", 20, 3, DAY, False),
]

# (code, gate, route, name, capacity)
YARDS = [
    ("1119-export-yard", "huu-nghi", "1119-1120", "Bãi chờ xuất khẩu 1119–1120", 600),
    ("1119-import-yard", "huu-nghi", "1119-1120", "Bãi chờ nhập khẩu 1119–1120", 400),
    ("1119-transfer-yard", "huu-nghi", "1119-1120", "Bãi chuyển tải xe tự hành 1119–1120", 120),
    ("1088-yard", "huu-nghi", "1088/2-1089", "Bãi chờ 1088/2–1089", 450),
]
