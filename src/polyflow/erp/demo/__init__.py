"""Demo plants for `polyflow dev`: data in data.py, seeding through the ERP services in seed.py."""

from polyflow.erp.demo.data import DEMO_TENANTS, HISTORY_DAYS, PLANTS  # noqa: F401
from polyflow.erp.demo.seed import seed_tenant  # noqa: F401
