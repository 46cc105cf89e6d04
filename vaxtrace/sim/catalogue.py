"""The synthetic province's cast: fictional MAHs and CDCs, realistic vaccine products.

Organisation names are invented (no real company's identity is borrowed); products follow real
Chinese vaccines in name, form, strength, shelf life and packing.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import ean
from stdnum.cn import uscc

from vaxtrace.core.datasets.basic_data import (
    CodeFamilyName,
    LevelSpec,
    Organisation,
    OrgKind,
    VaccineProduct,
)

PROVINCE = "320000"  # a province-level division code for the synthetic province


def make_uscc(registration_body: str) -> str:
    """A valid USCC from its first 17 characters (the check character is computed)."""
    return registration_body + uscc.calc_check_digit(registration_body + "0")


def make_gtin(body13: str) -> str:
    """A GTIN-14 with its mod-10 check digit."""
    return body13 + ean.calc_check_digit(body13)


@dataclass(frozen=True, slots=True)
class ProductTemplate:
    key: str
    generic_name: str
    english_name: str
    dosage_form: str
    strength: str
    shelf_life_months: int
    nip: bool
    doses_per_box: int
    boxes_per_case: int
    storage: str = "2-8°C"
    imported: bool = False


TEMPLATES: tuple[ProductTemplate, ...] = (
    ProductTemplate(
        "HEPB",
        "乙型肝炎疫苗(酿酒酵母)",
        "Hepatitis B Vaccine (Saccharomyces cerevisiae)",
        "注射剂",
        "0.5ml/支(10μg)",
        36,
        True,
        10,
        50,
    ),
    ProductTemplate(
        "DTAP",
        "吸附无细胞百白破联合疫苗",
        "DTaP Vaccine, Adsorbed",
        "注射剂",
        "0.5ml/支",
        24,
        True,
        10,
        40,
    ),
    ProductTemplate(
        "MMR",
        "麻腮风联合减毒活疫苗",
        "Measles, Mumps and Rubella Vaccine, Live",
        "注射用冻干制剂",
        "0.5ml/瓶",
        18,
        True,
        10,
        40,
    ),
    ProductTemplate(
        "IPV",
        "Sabin株脊髓灰质炎灭活疫苗(Vero细胞)",
        "Sabin Inactivated Poliovirus Vaccine",
        "注射剂",
        "0.5ml/支",
        24,
        True,
        5,
        80,
    ),
    ProductTemplate(
        "JE",
        "乙型脑炎减毒活疫苗",
        "Japanese Encephalitis Vaccine, Live",
        "注射用冻干制剂",
        "0.5ml/瓶",
        18,
        True,
        10,
        50,
    ),
    ProductTemplate(
        "HPV2",
        "双价人乳头瘤病毒疫苗(大肠埃希菌)",
        "Bivalent HPV Vaccine (E. coli)",
        "注射剂",
        "0.5ml/支",
        36,
        False,
        1,
        100,
    ),
    ProductTemplate(
        "FLU4",
        "四价流感病毒裂解疫苗",
        "Quadrivalent Influenza Vaccine (Split Virion)",
        "注射剂",
        "0.5ml/支",
        12,
        False,
        10,
        50,
    ),
    ProductTemplate(
        "RABV",
        "冻干人用狂犬病疫苗(Vero细胞)",
        "Freeze-dried Rabies Vaccine (Vero Cell)",
        "注射用冻干制剂",
        "≥2.5IU/瓶",
        36,
        False,
        5,
        60,
    ),
)


@dataclass(frozen=True, slots=True)
class Mah:
    organisation: Organisation
    family: CodeFamilyName
    templates: tuple[str, ...]


def mahs(count: int = 3) -> list[Mah]:
    """Fictional MAHs; alternate code families so both are always exercised."""
    names = [
        "华东示例生物制品股份有限公司",
        "江南示范疫苗有限公司",
        "金陵模拟生物技术有限公司",
        "苏北示例生物工程有限公司",
        "太湖样例疫苗股份有限公司",
    ]
    divisions = ["320100", "320200", "320500", "320300", "320600"]
    keys = [t.key for t in TEMPLATES]
    result = []
    for i in range(count):
        org = Organisation(
            uscc=make_uscc(f"91{divisions[i % 5]}MA1X{i:04d}"[:17].ljust(17, "0")),
            name=names[i % len(names)] + ("" if i < len(names) else f"第{i}分公司"),
            kind=OrgKind.MAH,
            division_code=divisions[i % 5],
            address=f"示例省示例市生物医药产业园{i + 1}号",
        )
        share = keys[i::count] or keys[:1]
        family = CodeFamilyName.NMPA20 if i % 2 == 0 else CodeFamilyName.GS1
        result.append(Mah(org, family, tuple(share)))
    return result


PROVINCIAL = {
    OrgKind.REGULATOR: ("11320000MB0000001", "示例省药品监督管理局", "示例省省会市监管路1号"),
    OrgKind.CDC: ("12320000MB0000001", "示例省疾病预防控制中心", "示例省省会市疾控路1号"),
}
"""The province's own bodies: USCC, name and address of each kind."""


def provincial_regulator() -> Organisation:
    """The province's drug regulator (省药品监督管理局), whose staff use the supervision system."""
    return _provincial(OrgKind.REGULATOR)


def provincial_cdc() -> Organisation:
    return _provincial(OrgKind.CDC)


def _provincial(kind: OrgKind) -> Organisation:
    uscc, name, address = PROVINCIAL[kind]
    return Organisation(
        uscc=make_uscc(uscc), name=name, kind=kind, division_code=PROVINCE, address=address
    )


def vaccination_sites() -> list[Organisation]:
    """Vaccination sites (接种单位) the provincial CDC supplies."""
    sites = [
        ("12320102MB0000011", "示例市玄武区社区卫生服务中心", "320102"),
        ("12320105MB0000012", "示例市建邺区妇幼保健院", "320105"),
    ]
    return [
        Organisation(
            uscc=make_uscc(body),
            name=name,
            kind=OrgKind.POV,
            division_code=division,
            address=f"示例省省会市{name[3:6]}接种门诊",
        )
        for body, name, division in sites
    ]


def platform_operator() -> Organisation:
    """The organisation running the collaborative platform (fictional registration body)."""
    return Organisation(
        uscc=make_uscc("12100000MB0000001"),
        name="国家药品监督管理局信息中心",
        kind=OrgKind.REGULATOR,
        division_code="110000",
    )


def product_for(mah: Mah, index: int, key: str) -> VaccineProduct:
    """The product ``key`` as made by ``mah``; identification codes are unique per MAH slot."""
    t = next(t for t in TEMPLATES if t.key == key)
    slot = index * 10 + [x.key for x in TEMPLATES].index(key)
    if mah.family is CodeFamilyName.NMPA20:
        idents = [f"8{(slot * 3 + lvl):06d}" for lvl in range(3)]
    else:
        idents = [make_gtin(f"{lvl}69{slot:010d}") for lvl in range(3)]
    levels = (
        LevelSpec(level=1, identification_code=idents[0]),
        LevelSpec(level=2, identification_code=idents[1], children=t.doses_per_box),
        LevelSpec(level=3, identification_code=idents[2], children=t.boxes_per_case),
    )
    return VaccineProduct(
        product_code=key,
        mah_uscc=mah.organisation.uscc,
        generic_name=t.generic_name,
        trade_name="",
        english_name=t.english_name,
        dosage_form=t.dosage_form,
        strength=t.strength,
        pack_spec=f"{t.doses_per_box}支/盒, {t.boxes_per_case}盒/箱",
        shelf_life_months=t.shelf_life_months,
        approval_number=f"国药准字S2019{slot:04d}",
        nip=t.nip,
        manufacturer=mah.organisation.name,
        storage_condition=t.storage,
        imported=t.imported,
        family=mah.family,
        levels=levels,
    )
