"""Payments: customer receipts and supplier payments allocated to open invoices; the customer statement and
the PPh 23 register."""
