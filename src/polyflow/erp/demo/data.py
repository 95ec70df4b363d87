"""What the `polyflow dev` demo plants are: products, tax identity, partners and three weeks of business.

Days count from the first day of the history (day 0, opening stock) to today (day HISTORY_DAYS). Every
figure is chosen so that stock never runs short on any date (production and receipts come before the
deliveries that need them) and sales are priced above the moving-average cost (a positive gross margin).
The NPWP/NIK numbers are made up but well-formed (16 digits)."""

from __future__ import annotations

from dataclasses import dataclass, field

HISTORY_DAYS = 21


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    role: str  # "supplier" or "customer"
    street: str
    city: str
    terms: int  # payment terms, days
    npwp: str | None = None  # a PKP company; None with `nik` = an individual (not PKP)
    nik: str | None = None
    credit_limit: str | None = None


@dataclass(frozen=True)
class Plant:
    subdomain: str
    name: str
    npwp: str
    address: str
    tax_office: str
    # (sku, name, type, unit, buy price, sell price, min stock, extra fields)
    products: list[tuple]
    partners: list[Partner]
    opening: list[tuple]  # (sku, qty, location, unit cost)
    # Business events: (day, action, key, args...) — see erp/demo/seed.py for each action.
    events: list[tuple] = field(default_factory=list)
    # Manual journals: (day, "jv", description, debit account, credit account, amount)
    journals: list[tuple] = field(default_factory=list)
    floor: str | None = None  # "woven" or "film": the floor of erp/demo/production.py (machines, BOMs, orders)


def _journals(bank: str, wages: str, electricity: str) -> list[tuple]:
    """The bank's opening balance (against opening equity), weekly salaries, the week's piece-rate wages
    (what the floor earned, owed on 2170) and the month's electricity bill, paid from the bank."""
    return [(0, "jv", "Saldo awal bank", "1102", "3900", bank),
            *((day, "jv", f"Gaji minggu ke-{n}", "6100", "1102", wages) for n, day in enumerate((6, 13, 20), 1)),
            *((day, "piecepay", day - 6) for day in (6, 13, 20)),
            (19, "jv", "Tagihan listrik PLN", "6200", "1102", electricity)]


ABC = Plant(
    subdomain="pt-abc", name="PT ABC Plastik", npwp="0317482950614000",
    address="Jl. Industri Raya No. 12, Kawasan Industri Jatake, Tangerang, Banten",
    tax_office="KPP Pratama Tangerang Barat",
    products=[
        ("PP-GRN-NAT", "PP granules, natural (virgin, raffia grade)", "raw_material", "KG", "21500", None, "3000",
         {"attributes": {"material": "PP", "mfi": 3, "grade": "raffia"}, "sales_unit": "ZAK",
          "sales_unit_factor": "25"}),
        ("CACO3-FILLER", "CaCO3 filler masterbatch", "raw_material", "KG", "6800", None, "500",
         {"attributes": {"material": "CaCO3/PE", "loading": "80%"}}),
        ("MB-BLUE-01", "Masterbatch blue", "raw_material", "KG", "48000", None, "50",
         {"attributes": {"colour": "blue"}}),
        ("LINER-LDPE", "LDPE inner liner 60x100 cm", "packaging", "PCS", "350", None, "2000",
         {"attributes": {"material": "LDPE", "thickness_micron": 30}}),
        # The floor's intermediates: compound (mixing), tape (extrusion), fabric rolls (weaving), loose bags
        # (sewing) before baling; regrind from the granulator.
        ("MIX-RAF-WH", "Compound PP/CaCO3 for white raffia (mixed)", "intermediate", "KG", None, None, "0",
         {"attributes": {"material": "PP"}}),
        ("RAF-1200-WH", "Raffia yarn 1200 denier, white", "intermediate", "KG", None, "27500", "0",
         {"attributes": {"denier": 1200, "colour": "white"}}),
        ("FAB-55-WH", "Woven fabric tubular 55 cm, 70 gsm, white (roll)", "intermediate", "KG", None, None, "0",
         {"attributes": {"gsm": 70, "width_mm": 550, "mesh": 10}}),
        ("WB-50KG-WH-LS", "Woven bag 50 kg, white, sewn (loose, not baled)", "wip", "PCS", None, None, "0",
         {"attributes": {"size": "55x90 cm"}, "conversions": [{"unit": "KG", "factor": "13.5"}]}),
        ("WB-50KG-WH", "Woven bag 50 kg, white, 55x90 cm", "finished_good", "PCS", None, "2350", "5000",
         {"attributes": {"size": "55x90 cm", "colour": "white", "gsm": 70}, "sales_unit": "BAL",
          "sales_unit_factor": "500", "conversions": [{"unit": "KG", "factor": "13.5"}]}),
        # Scrap (daun, prongkol, off-spec) at its net realisable value; regrind from the granulator.
        ("SCRAP-PP", "PP scrap (daun, prongkol)", "scrap", "KG", None, "6500", "0",
         {"attributes": {"material": "PP"}, "standard_cost": "5000"}),
        ("REGRIND-PP", "PP regrind (granulated scrap)", "scrap", "KG", None, None, "0",
         {"attributes": {"material": "PP"}}),
        # Toll manufacturing (maklon): bags made from the customer's own resin, which is never ours (tracked by
        # quantity on the toll order); only the fee is invoiced, as a service (PPh 23 withheld by the customer).
        ("PP-GRN-CUST", "PP granules, customer-owned (maklon material)", "raw_material", "KG", None, None, "0",
         {"attributes": {"material": "PP", "owner": "customer"}}),
        ("WB-50KG-MKL", "Woven bag 50 kg, toll-made (maklon) from the customer's resin", "finished_good", "PCS",
         None, "450", "0", {"attributes": {"size": "55x90 cm", "maklon": True}}),
    ],
    partners=[
        Partner("SUP-RESIN", "PT Polimer Resin Nusantara", "supplier", "Jl. Raya Anyer Km 121", "Cilegon", 30,
                npwp="0215836471092000"),
        Partner("SUP-PETRO", "PT Cahaya Petrokimia", "supplier", "Jl. Raya Serang-Cilegon Km 4", "Serang", 30,
                npwp="0139475820613000"),
        Partner("SUP-MB", "PT Warna Masterbatch Indonesia", "supplier", "Jl. Gatot Subroto Km 7", "Tangerang", 14,
                npwp="0846203917548000"),
        Partner("SUP-PACK", "CV Kemasan Plastik Jaya", "supplier", "Jl. Industri Selatan 5 Blok GG-3", "Bekasi", 7,
                npwp="0957318264015000"),
        Partner("CUS-SEMEN", "PT Semen Bumi Persada", "customer", "Jl. Raya Narogong Km 15", "Bogor", 30,
                npwp="0128374650921000", credit_limit="500000000"),
        Partner("CUS-PUPUK", "PT Pupuk Tani Makmur", "customer", "Jl. Jend. A. Yani No. 1", "Cikampek", 7,
                npwp="0263819475036000", credit_limit="300000000"),
        Partner("CUS-BERAS", "PT Beras Sentosa Abadi", "customer", "Jl. Syeh Quro No. 88", "Karawang", 7,
                npwp="0371925864107000", credit_limit="200000000"),
        Partner("CUS-TERIGU", "PT Tepung Terigu Mulia", "customer", "Jl. Raya Merak Km 117", "Cilegon", 30,
                npwp="0482736159204000", credit_limit="300000000"),
        Partner("CUS-BUDI", "Budi Santoso", "customer", "Jl. Muara Baru Ujung No. 17", "Jakarta Utara", 0,
                nik="3172051203800007"),
    ],
    opening=[("PP-GRN-NAT", 8000, "RM-WH", "21200"), ("CACO3-FILLER", 1500, "RM-WH", "6800"),
             ("MB-BLUE-01", 120, "RM-WH", "47500"), ("LINER-LDPE", 10000, "FG-WH", "340"),
             ("WB-50KG-WH", 20000, "FG-WH", "1950")],
    events=[
        # Purchases: (day, "po", key, supplier, [(sku, qty, price)])
        (1, "po", "PO1", "SUP-RESIN", [("PP-GRN-NAT", 15000, "21500")]),
        (1, "po", "PO2", "SUP-MB", [("CACO3-FILLER", 2000, "6800"), ("MB-BLUE-01", 100, "48000")]),
        (2, "grn", "PO1", "RM-WH", [("PP-GRN-NAT", 10000)]),  # partial: the rest a week later
        (3, "grn", "PO2", "RM-WH", [("CACO3-FILLER", 2000), ("MB-BLUE-01", 100)]),
        (4, "pinv", "PI2", "PO2", [("CACO3-FILLER", 2000, None), ("MB-BLUE-01", 100, None)]),
        (8, "po", "PO3", "SUP-PACK", [("LINER-LDPE", 20000, "350")]),
        (9, "grn", "PO1", "RM-WH", [("PP-GRN-NAT", 5000)]),
        (9, "pinv", "PI1", "PO1", [("PP-GRN-NAT", 15000, None)]),
        (10, "grn", "PO3", "FG-WH", [("LINER-LDPE", 20000)]),
        (11, "pinv", "PI3", "PO3", [("LINER-LDPE", 20000, None)]),  # due day 18, left unpaid: overdue
        (15, "po", "PO4", "SUP-RESIN", [("PP-GRN-NAT", 15000, "22300")]),
        (16, "grn", "PO4", "RM-WH", [("PP-GRN-NAT", 10000)]),  # 5 000 kg still to come
        (17, "pinv", "PI4", "PO4", [("PP-GRN-NAT", 10000, "22400")]),  # the supplier's price is 100 higher
        (18, "po", "PO5", "SUP-PETRO", [("PP-GRN-NAT", 10000, "22100")]),
        (19, "grn", "PO5", "RM-WH", [("PP-GRN-NAT", 10000)]),  # received, not invoiced yet: stays on 2120
        # Supplier payments: (day, "pay", supplier, [(invoice key, share of its open amount)], bank charges)
        (16, "pay", "SUP-RESIN", [("PI1", "1")], "6500"),
        (18, "pay", "SUP-MB", [("PI2", "0.5")], "6500"),
        # Sales: (day, "so", key, customer, location, [(sku, qty, price)]); "do": deliver; "inv": invoice all
        # delivered and not yet invoiced
        (1, "so", "SO1", "CUS-SEMEN", "FG-WH", [("WB-50KG-WH", 40000, "2350")]),
        (2, "do", "SO1", [("WB-50KG-WH", 20000)]),
        (2, "inv", "SI1", "SO1"),
        (4, "do", "SO1", [("WB-50KG-WH", 20000)]),
        (4, "inv", "SI2", "SO1"),
        (5, "so", "SO2", "CUS-PUPUK", "FG-WH", [("WB-50KG-WH", 30000, "2325")]),
        (6, "do", "SO2", [("WB-50KG-WH", 30000)]),
        (6, "inv", "SI3", "SO2"),  # due day 13; half paid on day 15: overdue
        (8, "so", "SO3", "CUS-BERAS", "FG-WH", [("WB-50KG-WH", 25000, "2400")]),
        (9, "do", "SO3", [("WB-50KG-WH", 25000)]),
        (9, "inv", "SI4", "SO3"),  # due day 16, unpaid: overdue
        # (day, "ret", invoice key, order key, location, [(sku, qty)], reason): a credit note (4110)
        (12, "ret", "SI4", "SO3", "FG-WH", [("WB-50KG-WH", 500)], "Jahitan lepas (stitching defect)"),
        (11, "so", "SO4", "CUS-TERIGU", "FG-WH", [("WB-50KG-WH", 30000, "2350")]),
        (12, "do", "SO4", [("WB-50KG-WH", 15000)]),
        (12, "inv", "SI5", "SO4"),
        (14, "do", "SO4", [("WB-50KG-WH", 15000)]),
        (14, "inv", "SI6", "SO4"),
        (14, "so", "SO7", "CUS-BUDI", "SCRAP-WH", [("SCRAP-PP", 250, "6500")]),
        (14, "do", "SO7", [("SCRAP-PP", 250)]),
        (14, "inv", "SI7", "SO7"),
        (15, "so", "SO5", "CUS-SEMEN", "FG-WH", [("WB-50KG-WH", 40000, "2350")]),
        (16, "do", "SO5", [("WB-50KG-WH", 20000)]),
        (16, "inv", "SI8", "SO5"),
        (18, "do", "SO5", [("WB-50KG-WH", 20000)]),
        (19, "inv", "SI10", "SO5"),
        # Production: (day, "campaign") one run of woven bags through the five steps; the last one stays open.
        *((day, "campaign", day < 19) for day in range(1, HISTORY_DAYS, 3)),
        # (day, "regrind", kg of scrap): the granulator order; the compound's BOM version 2 uses its regrind.
        (8, "regrind", "220"),
        # (day, "toll", invoice key, customer, material, finished, figures): a maklon order over days 5-7.
        (5, "toll", "SI11", "CUS-TERIGU", "PP-GRN-CUST", "WB-50KG-MKL",
         {"received": "800", "consumed": "752", "scrap": "12", "bags": "10000", "fee": "450"}),
        # (day, "opname", location, [(sku, kg lost)]): the month's raw-material count, approved today.
        (20, "opname", "RM-WH", [("MB-BLUE-01", "2")]),
        (19, "so", "SO6", "CUS-PUPUK", "FG-WH", [("WB-50KG-WH", 20000, "2325")]),
        (20, "do", "SO6", [("WB-50KG-WH", 10000)]),  # half delivered, half still reserved
        (20, "inv", "SI9", "SO6"),
        # Customer receipts: (day, "rcv", customer, [(invoice key, share)], account, bank charges)
        (14, "rcv", "CUS-BUDI", [("SI7", "1")], "1101", "0"),  # cash at the gate
        (15, "rcv", "CUS-PUPUK", [("SI3", "0.5")], "1102", "0"),
        (16, "rcv", "CUS-SEMEN", [("SI1", "1")], "1102", "5000"),
        (21, "rcv", "CUS-TERIGU", [("SI5", "1"), ("SI6", "0.4")], "1102", "5000"),
        # ... and a withholding slip number: PPh 23 withheld on the service invoice's DPP.
        (20, "rcv", "CUS-TERIGU", [("SI11", "1")], "1102", "0", "BP-0017/TPT/2026"),
    ],
    journals=_journals(bank="600000000", wages="20000000", electricity="30000000"),
    floor="woven",
)

XYZ = Plant(
    subdomain="pt-xyz", name="PT XYZ Rafia", npwp="0724519836407000",
    address="Jl. Raya Sidoarjo-Krian Km 8, Sidoarjo, Jawa Timur", tax_office="KPP Pratama Sidoarjo Barat",
    products=[
        ("HDPE-GRN-BLK", "HDPE granules, black (recycled)", "raw_material", "KG", "14800", None, "2000",
         {"attributes": {"material": "HDPE", "source": "recycled"}}),
        ("MB-BLACK-01", "Masterbatch black (carbon black 50%)", "raw_material", "KG", "32000", None, "10",
         {"attributes": {"colour": "black"}}),
        ("CORE-PPR-3", "Paper core 3 inch, 1 m", "packaging", "PCS", "4500", None, "20",
         {"attributes": {"diameter_inch": 3, "length_mm": 1000}}),
        ("FLM-LDPE-40", "LDPE film roll 40 micron", "finished_good", "ROLL", None, "410000", "20",
         {"attributes": {"thickness_micron": 40, "width_mm": 1000, "material": "LDPE"}}),
        ("SCRAP-PP", "PP/PE scrap (daun)", "scrap", "KG", None, "6500", "0", {"standard_cost": "5000"}),
    ],
    partners=[
        Partner("SUP-HDPE", "PT Daur Ulang Polietilena", "supplier", "Jl. Raya Manyar Km 11", "Gresik", 14,
                npwp="0652913847026000"),
        Partner("SUP-PIGMEN", "PT Pigmen Hitam Sejahtera", "supplier", "Jl. Rungkut Industri III No. 27", "Surabaya", 7,
                npwp="0583716294038000"),
        Partner("SUP-CORE", "CV Inti Karton Gulung", "supplier", "Jl. Raya Ngoro No. 45", "Mojokerto", 14,
                npwp="0794628153049000"),
        Partner("CUS-AGRO", "PT Agro Mulsa Lestari", "customer", "Jl. Raya Singosari No. 210", "Malang", 14,
                npwp="0615293847051000", credit_limit="250000000"),
        Partner("CUS-KONV", "PT Konveksi Kemas Jaya", "customer", "Jl. Margomulyo No. 44", "Surabaya", 30,
                npwp="0726384915062000", credit_limit="250000000"),
        Partner("CUS-LOG", "PT Logistik Bungkus Cepat", "customer", "Jl. Raya Buduran No. 9", "Sidoarjo", 7,
                npwp="0837495126073000", credit_limit="150000000"),
        Partner("CUS-RITEL", "PT Ritel Serba Ada", "customer", "Jl. Raya Pandaan Km 3", "Pasuruan", 30,
                npwp="0948516237084000", credit_limit="200000000"),
        Partner("CUS-SITI", "Siti Rahmawati", "customer", "Perum Pondok Jati Blok AK-12", "Sidoarjo", 0,
                nik="3515014506850003"),
    ],
    opening=[("HDPE-GRN-BLK", 6000, "RM-WH", "14500"), ("MB-BLACK-01", 40, "RM-WH", "31500"),
             ("CORE-PPR-3", 50, "RM-WH", "4400"), ("FLM-LDPE-40", 40, "FG-WH", "350000")],
    events=[
        (4, "po", "PO1", "SUP-HDPE", [("HDPE-GRN-BLK", 3000, "14900")]),
        (5, "grn", "PO1", "RM-WH", [("HDPE-GRN-BLK", 2000)]),
        (8, "po", "PO2", "SUP-PIGMEN", [("MB-BLACK-01", 50, "32000")]),
        (8, "po", "PO3", "SUP-CORE", [("CORE-PPR-3", 100, "4500")]),
        (8, "grn", "PO2", "RM-WH", [("MB-BLACK-01", 50)]),
        (8, "grn", "PO3", "RM-WH", [("CORE-PPR-3", 100)]),
        (8, "pinv", "PI3", "PO3", [("CORE-PPR-3", 100, None)]),
        (9, "grn", "PO1", "RM-WH", [("HDPE-GRN-BLK", 1000)]),
        (9, "pinv", "PI1", "PO1", [("HDPE-GRN-BLK", 3000, None)]),
        (10, "pinv", "PI2", "PO2", [("MB-BLACK-01", 50, None)]),  # due day 17, unpaid: overdue
        (16, "po", "PO4", "SUP-HDPE", [("HDPE-GRN-BLK", 2000, "14900")]),
        (17, "grn", "PO4", "RM-WH", [("HDPE-GRN-BLK", 2000)]),  # not invoiced yet: on 2120
        (15, "pay", "SUP-CORE", [("PI3", "1")], "0"),
        (19, "pay", "SUP-HDPE", [("PI1", "0.6")], "6500"),
        (2, "so", "SO1", "CUS-AGRO", "FG-WH", [("FLM-LDPE-40", 20, "410000")]),
        (3, "do", "SO1", [("FLM-LDPE-40", 20)]),
        (3, "inv", "SI1", "SO1"),  # due day 17, unpaid: overdue
        (6, "so", "SO2", "CUS-KONV", "FG-WH", [("FLM-LDPE-40", 15, "415000")]),
        (7, "do", "SO2", [("FLM-LDPE-40", 10)]),
        (7, "inv", "SI2", "SO2"),
        (11, "do", "SO2", [("FLM-LDPE-40", 5)]),
        (11, "inv", "SI3", "SO2"),
        (12, "so", "SO3", "CUS-LOG", "FG-WH", [("FLM-LDPE-40", 12, "405000")]),
        (13, "do", "SO3", [("FLM-LDPE-40", 12)]),
        (13, "inv", "SI4", "SO3"),  # due day 20, partly paid: the rest overdue
        (15, "so", "SO4", "CUS-RITEL", "FG-WH", [("FLM-LDPE-40", 15, "410000")]),
        (16, "do", "SO4", [("FLM-LDPE-40", 15)]),
        (16, "inv", "SI5", "SO4"),
        (18, "so", "SO5", "CUS-SITI", "SCRAP-WH", [("SCRAP-PP", 60, "6500")]),
        (18, "do", "SO5", [("SCRAP-PP", 60)]),
        (18, "inv", "SI6", "SO5"),
        (19, "so", "SO6", "CUS-AGRO", "FG-WH", [("FLM-LDPE-40", 10, "410000")]),
        (20, "do", "SO6", [("FLM-LDPE-40", 8)]),
        (20, "inv", "SI7", "SO6"),
        # Production: (day, "film") one order of 6 rolls on the blown-film line (erp/demo/production.py).
        *((day, "film") for day in range(1, HISTORY_DAYS, 2)),
        (18, "rcv", "CUS-SITI", [("SI6", "1")], "1101", "0"),
        (19, "rcv", "CUS-LOG", [("SI4", "0.5")], "1102", "0"),
        (20, "rcv", "CUS-KONV", [("SI2", "1"), ("SI3", "1")], "1102", "5000"),
    ],
    journals=_journals(bank="150000000", wages="1000000", electricity="900000"),
    floor="film",
)

PLANTS = (ABC, XYZ)
# (subdomain, name, products) of each demo tenant, as `polyflow dev` lists them.
DEMO_TENANTS = tuple((p.subdomain, p.name, p.products) for p in PLANTS)
