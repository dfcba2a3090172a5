"""Reference data for Lạng Sơn: the border gates, the two smart-gate routes, their lanes and yards.

Gates and routes are facts of DOMAIN.md. Lane layouts, capacities, operating hours and yard sizes are
sample values: they are loaded once and from then on belong to the gate management board, who edit
them in the admin (``load_reference`` never overwrites a row that exists).
"""

from datetime import time

from vehicles.models import BorderGate, Direction, Lane, Yard
from vehicles.plates import Country

# The tables read best one row a line, however long (E501 is off for this file as well).
# fmt: off
# (code, country, kind, name_vi, name_en, name_zh, counterpart code)
GATES = [
    ("youyiguan", Country.CN, BorderGate.Kind.INTERNATIONAL, "Hữu Nghị Quan", "Youyiguan", "友谊关", None),
    ("pingxiang-railway", Country.CN, BorderGate.Kind.INTERNATIONAL, "Ga Bằng Tường", "Pingxiang Railway Station", "凭祥站", None),
    ("aidian", Country.CN, BorderGate.Kind.MAIN, "Ái Điểm", "Aidian", "爱店", None),
    ("puzhai", Country.CN, BorderGate.Kind.SECONDARY, "Pò Chài", "Puzhai", "浦寨", None),
    ("nongyao", Country.CN, BorderGate.Kind.SECONDARY, "Lũng Nghịu", "Nongyao", "弄尧", None),
    ("huu-nghi", Country.VN, BorderGate.Kind.INTERNATIONAL, "Cửa khẩu quốc tế Hữu Nghị", "Huu Nghi International Border Gate", "友谊口岸", "youyiguan"),
    ("dong-dang-railway", Country.VN, BorderGate.Kind.INTERNATIONAL, "Ga đường sắt liên vận quốc tế Đồng Đăng", "Dong Dang International Railway Station", "同登火车站", "pingxiang-railway"),
    ("chi-ma", Country.VN, BorderGate.Kind.MAIN, "Cửa khẩu chính Chi Ma", "Chi Ma Border Gate", "支麻口岸", "aidian"),
    ("tan-thanh", Country.VN, BorderGate.Kind.SECONDARY, "Cửa khẩu phụ Tân Thanh", "Tan Thanh Border Gate", "新清口岸", "puzhai"),
    ("coc-nam", Country.VN, BorderGate.Kind.SECONDARY, "Cửa khẩu phụ Cốc Nam", "Coc Nam Border Gate", "谷南口岸", "nongyao"),
    ("na-hinh", Country.VN, BorderGate.Kind.SECONDARY, "Cửa khẩu phụ Na Hình", "Na Hinh Border Gate", "", None),
    ("na-nua", Country.VN, BorderGate.Kind.SECONDARY, "Cửa khẩu phụ Nà Nưa", "Na Nua Border Gate", "", None),
    ("binh-nghi", Country.VN, BorderGate.Kind.SECONDARY, "Cửa khẩu phụ Bình Nghi", "Binh Nghi Border Gate", "", None),
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
    ("1119-1120", "1119-EX1", Lane.Kind.EXPORT, Direction.EXPORT, Lane.Purpose.CARGO, 30, 4, ROUND_THE_CLOCK, False),
    ("1119-1120", "1119-EX2", Lane.Kind.EXPORT, Direction.EXPORT, Lane.Purpose.CARGO, 20, 3, ROUND_THE_CLOCK, True),
    ("1119-1120", "1119-IM1", Lane.Kind.IMPORT, Direction.IMPORT, Lane.Purpose.CARGO, 30, 4, ROUND_THE_CLOCK, False),
    ("1119-1120", "1119-IM2", Lane.Kind.IMPORT, Direction.IMPORT, Lane.Purpose.CARGO, 20, 3, ROUND_THE_CLOCK, True),
    ("1119-1120", "1119-REV1", Lane.Kind.REVERSIBLE, Direction.EXPORT, Lane.Purpose.CARGO, 25, 4, DAY, False),
    ("1119-1120", "1119-ER1", Lane.Kind.IMPORT, Direction.IMPORT, Lane.Purpose.EMPTY_RETURN, 40, 5, NIGHT, False),
    ("1119-1120", "1119-AV1", Lane.Kind.EXPORT, Direction.EXPORT, Lane.Purpose.AUTONOMOUS, 12, 2, ROUND_THE_CLOCK, False),
    ("1088/2-1089", "1088-EX1", Lane.Kind.EXPORT, Direction.EXPORT, Lane.Purpose.CARGO, 25, 4, DAY, True),
    ("1088/2-1089", "1088-IM1", Lane.Kind.IMPORT, Direction.IMPORT, Lane.Purpose.CARGO, 25, 4, DAY, True),
    ("1088/2-1089", "1088-REV1", Lane.Kind.REVERSIBLE, Direction.IMPORT, Lane.Purpose.CARGO, 20, 3, DAY, False),
]

# fmt: on

# The smart lanes (sample): only eligible goods groups are called to them; the other lanes stay traditional,
# as the Móng Cái – Đông Hưng smart gate keeps its traditional flow alongside.
SMART_LANES = {"1119-EX1", "1119-IM1"}

# (code, gate, route, name, capacity, kind)
YARDS = [
    ("1119-export-yard", "huu-nghi", "1119-1120", "Bãi chờ xuất khẩu 1119–1120", 600, Yard.Kind.WAITING),
    ("1119-import-yard", "huu-nghi", "1119-1120", "Bãi chờ nhập khẩu 1119–1120", 400, Yard.Kind.WAITING),
    (
        "1119-transfer-yard",
        "huu-nghi",
        "1119-1120",
        "Bãi chuyển tải xe tự hành 1119–1120",
        120,
        Yard.Kind.TRANSFER_YARD,
    ),
    ("1088-yard", "huu-nghi", "1088/2-1089", "Bãi chờ 1088/2–1089", 450, Yard.Kind.WAITING),
    # Where the autonomous-vehicle pilot picked containers up (DOMAIN.md); the wharf-transfer fee applies.
    # No route: a transfer point serves the crossings of any route.
    ("bao-nguyen-wharf", "tan-thanh", None, "Bến chuyển tải Bảo Nguyên", 80, Yard.Kind.WHARF),
]

# When each autonomous lane operates (local time): the published night pilot, a safety driver aboard.
# (lane, starts, ends, safety driver aboard, note)
LANE_WINDOWS = [
    ("1119-AV1", time(18, 30), time(20, 0), True, "Night pilot (published): 18:30–20:00 with a safety driver aboard"),
]
