"""Chart of accounts (Indonesian practice, codes by class) and the tenant settings row."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from polyflow.erp.models import Account, TenantSettings
from polyflow.erp.seeds import SeedContext, register

# Codes the automatic journals use; names are what an Indonesian accountant expects to see.
KAS, BANK, PIUTANG = "1101", "1102", "1130"
PERSEDIAAN_BAHAN_BAKU, PERSEDIAAN_BDP, PERSEDIAAN_BARANG_JADI = "1141", "1142", "1143"
PPN_MASUKAN, HUTANG_USAHA, BARANG_BELUM_DITAGIH, PPN_KELUARAN = "1150", "2110", "2120", "2130"
MODAL, LABA_DITAHAN, EKUITAS_SALDO_AWAL = "3100", "3200", "3900"
PENDAPATAN, HPP, PEMAKAIAN_BAHAN_BAKU, BEBAN_SCRAP, SELISIH_PERSEDIAAN = "4100", "5100", "5200", "5300", "5400"
# Supplier invoice price vs purchase order price (purchasing; expensed, stock is not re-valued).
SELISIH_HARGA_PEMBELIAN = "5500"
# Manufacturing (issue 12): scrap and regrind stock, piece-rate wages earned on the floor, toll (maklon)
# fees, the variances an order's close clears its WIP to, and overhead absorbed into WIP (a credit balance).
PERSEDIAAN_SCRAP, HUTANG_UPAH_BORONGAN, PENDAPATAN_MAKLON = "1144", "2170", "4300"
SELISIH_KUANTITAS_PRODUKSI, SELISIH_HARGA_PRODUKSI, BOP_DIBEBANKAN = "5610", "5620", "5720"

# Control accounts kept by the inventory sub-ledger: only stock movements post to them, so the stock
# valuation and their general-ledger balance are always equal.
INVENTORY_ACCOUNTS = (PERSEDIAAN_BAHAN_BAKU, PERSEDIAAN_BDP, PERSEDIAAN_BARANG_JADI, PERSEDIAAN_SCRAP)

# The account mapping for stock: the other side of a movement's journal follows from (kind, reason), and
# a pair missing here is not a valid movement. Choosing another account needs accounting.write.
#   IN  purchase    Dr inventory / Cr 2120 received not billed (cleared by the supplier invoice)
#   IN  opening     Dr inventory / Cr 3900 opening-balance equity
#   IN  production  Dr inventory / Cr 1142 WIP (output, scrap and regrind of a production order take their
#                   cost out of the order's WIP; an intermediate's own stock is 1142 too, so its output
#                   journal is Dr 1142 / Cr 1142: the value moves from the order's WIP to the stock ledger)
#   IN  return      customer return into stock: Dr inventory / Cr 5100 cost of goods sold
#   OUT sale        Dr 5100 cost of goods sold / Cr inventory
#   OUT production  Dr 1142 WIP / Cr inventory (material issued to a production order)
#   OUT consumption Dr 5200 materials used / Cr inventory (auxiliaries expensed)
#   OUT scrap       Dr 5300 scrap expense / Cr inventory
#   OUT return      return to the supplier: Dr 2120 received not billed / Cr inventory
#   ADJUSTMENT count / other: 5400 Selisih Persediaan, either side (stock found or lost)
#   TRANSFER        no journal (value stays in the same account)
STOCK_COUNTER_ACCOUNTS: dict[tuple[str, str], str | None] = {
    ("IN", "purchase"): BARANG_BELUM_DITAGIH, ("IN", "opening"): EKUITAS_SALDO_AWAL,
    ("IN", "production"): PERSEDIAAN_BDP, ("IN", "return"): HPP,
    ("OUT", "sale"): HPP, ("OUT", "production"): PERSEDIAAN_BDP, ("OUT", "consumption"): PEMAKAIAN_BAHAN_BAKU,
    ("OUT", "scrap"): BEBAN_SCRAP,
    ("OUT", "return"): BARANG_BELUM_DITAGIH,
    ("ADJUSTMENT", "count"): SELISIH_PERSEDIAAN, ("ADJUSTMENT", "other"): SELISIH_PERSEDIAAN,
    ("TRANSFER", "other"): None,
}
# The reason a movement gets when none is given.
DEFAULT_STOCK_REASON = {"IN": "purchase", "OUT": "sale", "ADJUSTMENT": "count", "TRANSFER": "other"}

CHART = (
    (KAS, "Kas", "asset"),
    (BANK, "Bank", "asset"),
    (PIUTANG, "Piutang Usaha", "asset"),
    (PERSEDIAAN_BAHAN_BAKU, "Persediaan Bahan Baku", "asset"),
    (PERSEDIAAN_BDP, "Persediaan Barang Dalam Proses", "asset"),
    (PERSEDIAAN_BARANG_JADI, "Persediaan Barang Jadi", "asset"),
    (PERSEDIAAN_SCRAP, "Persediaan Scrap dan Regrind", "asset"),
    (PPN_MASUKAN, "PPN Masukan", "asset"),
    ("1160", "Uang Muka Pembelian", "asset"),
    ("1210", "Mesin dan Peralatan", "asset"),
    ("1220", "Kendaraan", "asset"),
    ("1290", "Akumulasi Penyusutan", "asset"),
    (HUTANG_USAHA, "Hutang Usaha", "liability"),
    (BARANG_BELUM_DITAGIH, "Barang Diterima Belum Ditagih", "liability"),
    (PPN_KELUARAN, "PPN Keluaran", "liability"),
    ("2140", "Hutang PPh", "liability"),
    ("2150", "Biaya Yang Masih Harus Dibayar", "liability"),
    ("2160", "Uang Muka Penjualan", "liability"),
    (HUTANG_UPAH_BORONGAN, "Hutang Upah Borongan", "liability"),
    (MODAL, "Modal Disetor", "equity"),
    (LABA_DITAHAN, "Laba Ditahan", "equity"),
    (EKUITAS_SALDO_AWAL, "Ekuitas Saldo Awal", "equity"),
    (PENDAPATAN, "Pendapatan Penjualan", "revenue"),
    ("4110", "Retur Penjualan", "revenue"),  # contra-revenue: credit notes of sales returns
    ("4200", "Penjualan Scrap", "revenue"),
    (PENDAPATAN_MAKLON, "Pendapatan Jasa Maklon", "revenue"),
    ("4900", "Pendapatan Lain-lain", "revenue"),
    (HPP, "Harga Pokok Penjualan", "expense"),
    (PEMAKAIAN_BAHAN_BAKU, "Pemakaian Bahan Baku", "expense"),
    (BEBAN_SCRAP, "Beban Scrap", "expense"),
    (SELISIH_PERSEDIAAN, "Selisih Persediaan", "expense"),
    (SELISIH_HARGA_PEMBELIAN, "Selisih Harga Pembelian", "expense"),
    (SELISIH_KUANTITAS_PRODUKSI, "Selisih Kuantitas Produksi", "expense"),
    (SELISIH_HARGA_PRODUKSI, "Selisih Harga Produksi", "expense"),
    (BOP_DIBEBANKAN, "Biaya Overhead Pabrik Dibebankan", "expense"),
    ("6100", "Beban Gaji dan Upah", "expense"),
    ("6200", "Beban Listrik", "expense"),
    ("6300", "Beban Penyusutan", "expense"),
    ("6900", "Beban Lain-lain", "expense"),
    ("6910", "Beban Administrasi Bank", "expense"),  # bank charges on receipts and payments (erp/payments)
)


@register("chart_of_accounts")
async def seed_accounts(session, ctx: SeedContext) -> None:
    await session.execute(
        insert(Account).values([{"code": c, "name": n, "type": t} for c, n, t in CHART]).on_conflict_do_nothing()
    )


@register("tenant_settings", scope="tenant")
async def seed_settings(session, ctx: SeedContext) -> None:
    await session.execute(
        insert(TenantSettings).values(id=1, company_name=ctx.tenant_name or "").on_conflict_do_nothing()
    )
