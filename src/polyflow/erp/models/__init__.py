"""Tenant-database tables, one module per aggregate. Importing this package registers them all."""

from polyflow.erp.models.account import Account
from polyflow.erp.models.document_counter import DocumentCounter
from polyflow.erp.models.fiscal_period import FiscalPeriod
from polyflow.erp.models.identity import (
    ApiToken, AuditEntry, OneTimeToken, OutboxMessage, RecoveryCode, SignInPolicy, UserSession,
)
from polyflow.erp.models.journal import JournalEntry, JournalLine
from polyflow.erp.models.location import Location
from polyflow.erp.models.partner import Partner, PartnerPrice
from polyflow.erp.models.product import Product, ProductUnitConversion, ProductVariant
from polyflow.erp.models.sales import (
    Delivery, DeliveryLine, Quotation, QuotationLine, SalesInvoice, SalesInvoiceLine, SalesOrder, SalesOrderLine,
    SalesReturn, SalesReturnLine,
)
from polyflow.erp.models.settings import TenantSettings
from polyflow.erp.models.stock import StockLevel, StockMovement
from polyflow.erp.models.tax import CompanyTaxProfile, TaxCode
from polyflow.erp.models.unit import Unit
from polyflow.erp.models.user import User

__all__ = ["Account", "ApiToken", "AuditEntry", "DocumentCounter", "FiscalPeriod", "JournalEntry", "JournalLine", "Location", "OneTimeToken",
           "OutboxMessage", "Product", "ProductVariant", "RecoveryCode", "SignInPolicy", "StockLevel", "StockMovement", "TenantSettings", "Unit",
           "User", "UserSession"]
__all__ += ["CompanyTaxProfile", "Partner", "PartnerPrice", "TaxCode"]
__all__ += ["ProductUnitConversion"]

from polyflow.erp.models.purchasing import (  # noqa: E402
    GoodsReceipt, GoodsReceiptLine, LandedCost, LandedCostLine, PurchaseInvoice, PurchaseInvoiceLine, PurchaseOrder,
    PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine, PurchaseReturn, PurchaseReturnLine,
)

__all__ += ["LandedCost", "LandedCostLine", "GoodsReceipt", "GoodsReceiptLine", "PurchaseInvoice", "PurchaseInvoiceLine", "PurchaseOrder",
            "PurchaseOrderLine", "PurchaseRequest", "PurchaseRequestLine", "PurchaseReturn", "PurchaseReturnLine"]
__all__ += ["Delivery", "DeliveryLine", "Quotation", "QuotationLine", "SalesInvoice", "SalesInvoiceLine", "SalesOrder",
            "SalesOrderLine", "SalesReturn", "SalesReturnLine"]

from polyflow.erp.models.payment import Payment, PaymentAllocation  # noqa: E402

__all__ += ["Payment", "PaymentAllocation"]

from polyflow.erp.models.floor import (  # noqa: E402
    Bom, BomLine, Machine, MachineDowntime, Operator, PieceRate, Route, RouteStep, RouteStepMachine, Shift,
)
from polyflow.erp.models.production import (  # noqa: E402
    Execution, Inspection, Lot, LotConsumption, MaterialIssue, OrderMaterial, ProductionCost, ProductionOrder,
    ProductionRun,
)

__all__ += ["Bom", "BomLine", "Machine", "MachineDowntime", "Operator", "PieceRate", "Route", "RouteStep",
            "RouteStepMachine", "Shift"]
__all__ += ["Execution", "Inspection", "Lot", "LotConsumption", "MaterialIssue", "OrderMaterial", "ProductionCost",
            "ProductionOrder", "ProductionRun"]

from polyflow.erp.models.stockcount import StockCount, StockCountEntry, StockCountLine  # noqa: E402

__all__ += ["StockCount", "StockCountEntry", "StockCountLine"]

from polyflow.erp.models.toll import TollMaterialMove, TollOrder, TollOrderLine  # noqa: E402

__all__ += ["TollMaterialMove", "TollOrder", "TollOrderLine"]

from polyflow.erp.models.planning import MrpProposal, MrpRun  # noqa: E402

__all__ += ["MrpProposal", "MrpRun"]
