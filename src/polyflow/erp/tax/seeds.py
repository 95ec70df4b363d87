"""The standard Indonesian tax codes (reference data, cloned with the template) and the two prepaid-tax
accounts they need that the chart lacked.

Accounts used (chart in erp/accounting/seeds.py): 2130 PPN Keluaran, 1150 PPN Masukan, 2140 Hutang PPh
(PPh 23 we withhold from a supplier), and added here 1171 PPh 23 Dibayar Dimuka (PPh 23 a customer
withholds from us: a credit against our income tax) and 1172 PPh 22 Dibayar Dimuka (PPh 22 paid on
import or collected by a government/BUMN buyer). Revision 0008 adds the same rows to existing tenants.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert

from polyflow.erp.models import Account, TaxCode
from polyflow.erp.seeds import SeedContext, register

PPH23_PREPAID, PPH22_PREPAID = "1171", "1172"
PPN_KELUARAN, PPN_MASUKAN, HUTANG_PPH = "2130", "1150", "2140"

ACCOUNTS = (
    (PPH23_PREPAID, "PPh 23 Dibayar Dimuka", "asset"),
    (PPH22_PREPAID, "PPh 22 Dibayar Dimuka", "asset"),
)

PPN_11 = date(2022, 4, 1)  # UU HPP: 10 % -> 11 %
PPN_12 = date(2025, 1, 1)  # 12 %; on DPP nilai lain 11/12 for all but luxury goods (PMK 131/2024)
DAY_BEFORE_12 = date(2024, 12, 31)

# code, name, kind, rate, base rule, from, to, sales account, purchase account, description
TAX_CODES = (
    ("PPN", "PPN Keluaran 11%", "ppn_output", "11", "full", PPN_11, DAY_BEFORE_12, PPN_KELUARAN, None,
     "PPN on sales, April 2022 - 2024: 11 % of the price."),
    ("PPN", "PPN Keluaran 12% (DPP nilai lain 11/12)", "ppn_output", "12", "dpp_11_12", PPN_12, None,
     PPN_KELUARAN, None, "Ordinary goods and services since 2025: 12 % of 11/12 of the price (effectively "
     "11 %); Coretax transaction code 04. The default for sales."),
    ("PPN-IN", "PPN Masukan 11%", "ppn_input", "11", "full", PPN_11, DAY_BEFORE_12, None, PPN_MASUKAN,
     "Creditable input PPN on purchases, April 2022 - 2024."),
    ("PPN-IN", "PPN Masukan 12% (DPP nilai lain 11/12)", "ppn_input", "12", "dpp_11_12", PPN_12, None, None,
     PPN_MASUKAN, "Creditable input PPN on ordinary purchases since 2025. The default for purchases."),
    ("PPN-LUX", "PPN Keluaran 12% (barang mewah, DPP penuh)", "ppn_output", "12", "full", PPN_12, None,
     PPN_KELUARAN, None, "Luxury goods (subject to PPnBM): 12 % of the full price; transaction code 01."),
    ("PPN-LUX-IN", "PPN Masukan 12% (barang mewah, DPP penuh)", "ppn_input", "12", "full", PPN_12, None, None,
     PPN_MASUKAN, "Input PPN on luxury goods bought: 12 % of the full price."),
    ("PPN-EXPORT", "PPN 0% (ekspor)", "zero_rated", "0", "full", PPN_11, None, PPN_KELUARAN, None,
     "Export of goods or services: taxable at 0 % (input PPN stays creditable)."),
    ("PPN-EXEMPT", "PPN dibebaskan", "exempt", "0", "full", PPN_11, None, None, None,
     "Supplies exempt from PPN (dibebaskan; transaction code 08)."),
    ("PPN-NC", "PPN tidak dipungut", "not_collected", "0", "full", PPN_11, None, None, None,
     "PPN not collected (tidak dipungut, e.g. bonded zones; transaction code 07); also for sellers that "
     "are not PKP."),
    ("PPH23", "PPh 23 2% (jasa)", "pph23", "2", "full", date(2009, 1, 1), None, PPH23_PREPAID, HUTANG_PPH,
     "2 % of the gross service fee (without PPN). On a sale the customer withholds it (prepaid tax, 1171); "
     "on a purchase we withhold it and owe it to the state (2140)."),
    ("PPH22-IMPORT", "PPh 22 impor 2.5% (API)", "pph22", "2.5", "full", date(2017, 3, 1), None, None,
     PPH22_PREPAID, "PPh 22 paid at customs on imports by an importer with an API (PMK 34/2017): 2.5 % of "
     "the import value (CIF + duties). Without an API the rate is 7.5 %: add a code for it if needed."),
    ("PPH22", "PPh 22 1.5% (dipungut pembeli pemerintah/BUMN)", "pph22", "1.5", "full", date(2017, 3, 1), None,
     PPH22_PREPAID, None, "1.5 % of the price (without PPN) collected by a government treasurer or "
     "designated BUMN buyer on our sale: prepaid tax (1172)."),
)


def tax_code_rows() -> list[dict]:
    return [{"code": c, "name": n, "kind": k, "rate": Decimal(r), "base_rule": b, "effective_from": f,
             "effective_to": t, "sales_account": s, "purchase_account": p, "description": d}
            for c, n, k, r, b, f, t, s, p, d in TAX_CODES]


@register("tax_codes")
async def seed_tax_codes(session, ctx: SeedContext) -> None:
    # After the chart of accounts (registration order): the codes refer to its accounts.
    await session.execute(
        insert(Account).values([{"code": c, "name": n, "type": t} for c, n, t in ACCOUNTS]).on_conflict_do_nothing()
    )
    await session.execute(insert(TaxCode).values(tax_code_rows()).on_conflict_do_nothing())
