import pytest

from vehicles.names import fold_name


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("NGUYỄN  VĂN   AN ", "nguyen van an"),
        ("Đặng Thị Đào", "dang thi dao"),  # đ/Đ do not decompose in Unicode
        ("Trần Quốc Tuấn", "tran quoc tuan"),
        ("李明", "李明"),
    ],
)
def test_names_fold_to_one_matching_form(written, folded):
    assert fold_name(written) == folded


def test_driver_keeps_name_as_written_and_matching_form(db):
    from datetime import date

    from vehicles.models import Driver

    driver = Driver.objects.create(
        full_name="Đỗ Thị Hằng",
        nationality="VN",
        document_type="passport",
        document_number="C7654321",
        document_country="VN",
        document_expires=date(2030, 1, 1),
    )
    driver.refresh_from_db()

    assert driver.full_name == "Đỗ Thị Hằng"
    assert Driver.objects.get(name_key=fold_name("DO THI HANG")) == driver
