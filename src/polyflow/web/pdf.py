"""Printable documents (purchase order, surat jalan, faktur, kwitansi, production ticket) drawn with fpdf2:
pure Python, so nothing beyond the package is needed on a fresh machine. A4 portrait, the company's name,
address and NPWP at the top, page numbers at the foot.

The built-in Helvetica covers Latin-1, which Bahasa Indonesia needs; any other character (a name typed with
an emoji, say) is replaced rather than failing the document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from fastapi.responses import Response
from fpdf import FPDF

from polyflow.web.export import safe_filename
from polyflow.web.i18n import _


@dataclass(frozen=True)
class Company:
    name: str
    address: str | None = None
    npwp: str | None = None
    phone: str | None = None
    email: str | None = None


def latin(text: object) -> str:
    value = "" if text is None else str(text)
    value = value.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u201c", '"') \
        .replace("\u201d", '"').replace("\u2026", "...")
    return value.encode("latin-1", "replace").decode("latin-1")


class Document(FPDF):
    """One printable document: `title` (e.g. "FAKTUR PENJUALAN") under the company's letterhead."""

    def __init__(self, title: str, company: Company, *, number: str | None = None):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.company = company
        self.number = number
        # Streams are compressed unless POLYFLOW_PDF_COMPRESS=0 (tests read the text of an uncompressed file).
        self.set_compression(os.environ.get("POLYFLOW_PDF_COMPRESS", "1") != "0")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        self.alias_nb_pages()
        self.set_title(latin(f"{title} {number or ''}".strip()))
        self.set_creator("Polyflow")
        self.add_page()

    # -- page furniture ----------------------------------------------------------------------------------
    def header(self) -> None:
        self.set_font("Helvetica", "B", 13)
        self.cell(0, 6, latin(self.company.name), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 8.5)
        for line in (self.company.address, self._contact(), f"NPWP {self.company.npwp}" if self.company.npwp else None):
            if line:
                self.multi_cell(0, 4, latin(line), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        self.set_draw_color(60, 60, 60)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(3)
        self.set_font("Helvetica", "B", 12)
        self.cell(0, 7, latin(self.doc_title), align="C", new_x="LMARGIN", new_y="NEXT")
        if self.number:
            self.set_font("Helvetica", "", 10)
            self.cell(0, 5, latin(self.number), align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def _contact(self) -> str | None:
        parts = [p for p in (self.company.phone, self.company.email) if p]
        return " · ".join(parts).replace("·", "-") if parts else None

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, latin(_("Page %(n)s of %(total)s", n=self.page_no(), total="{nb}")), align="R")
        self.set_text_color(0, 0, 0)

    # -- content -----------------------------------------------------------------------------------------
    def kv(self, pairs: Sequence[tuple[str, object]], *, label_width: float = 38) -> None:
        """Label: value lines (e.g. Pelanggan, Tanggal, Jatuh tempo)."""
        self.set_font("Helvetica", "", 9.5)
        for label, value in pairs:
            self.set_font("Helvetica", "B", 9.5)
            self.cell(label_width, 5.5, latin(label))
            self.set_font("Helvetica", "", 9.5)
            self.multi_cell(0, 5.5, latin(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float],
              aligns: Sequence[str] | None = None) -> None:
        """A bordered table; `widths` in mm (they should add up to 180), `aligns` "L"/"R"/"C" per column."""
        aligns = aligns or ["L"] * len(headers)
        self.set_font("Helvetica", "B", 9)
        self.set_fill_color(235, 238, 241)
        for head, width, align in zip(headers, widths, aligns):
            self.cell(width, 7, latin(head), border=1, align=align if align != "L" else "L", fill=True)
        self.ln()
        self.set_font("Helvetica", "", 9)
        for row in rows:
            if self.get_y() > self.h - 30:
                self.add_page()
            for value, width, align in zip(row, widths, aligns):
                text = latin(value)
                while text and self.get_string_width(text) > width - 2:
                    text = text[:-1]  # a cell is one line: cut what does not fit rather than overflow
                self.cell(width, 6.5, text, border=1, align=align)
            self.ln()
        self.ln(2)

    def totals(self, pairs: Sequence[tuple[str, str]], *, width: float = 80, bold_last: bool = True) -> None:
        """Right-aligned label / amount lines under a table (Subtotal, PPN, Total)."""
        for i, (label, value) in enumerate(pairs):
            bold = bold_last and i == len(pairs) - 1
            self.set_font("Helvetica", "B" if bold else "", 9.5)
            self.set_x(self.w - self.r_margin - width)
            self.cell(width - 38, 6, latin(label), align="R")
            self.cell(38, 6, latin(value), align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def paragraph(self, text: str, *, bold: bool = False, italic: bool = False, size: float = 9.5) -> None:
        self.set_font("Helvetica", ("B" if bold else "") + ("I" if italic else ""), size)
        self.multi_cell(0, 5, latin(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def signatures(self, labels: Sequence[str], *, place_date: str | None = None) -> None:
        """Signature boxes side by side (e.g. Dibuat oleh, Disetujui oleh / Penerima, Pengirim)."""
        if self.get_y() > self.h - 55:
            self.add_page()
        self.ln(4)
        if place_date:
            self.set_font("Helvetica", "", 9.5)
            self.cell(0, 5, latin(place_date), align="R", new_x="LMARGIN", new_y="NEXT")
        width = (self.w - self.l_margin - self.r_margin) / max(1, len(labels))
        self.set_font("Helvetica", "", 9.5)
        for label in labels:
            self.cell(width, 5, latin(label), align="C")
        self.ln(24)
        for _label in labels:
            self.cell(width, 5, "(______________________)", align="C")
        self.ln()

    def render(self) -> bytes:
        return bytes(self.output())


def pdf_response(doc: Document, filename: str, *, inline: bool = True) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(doc.render(), media_type="application/pdf",
                    headers={"Content-Disposition": f'{disposition}; filename="{safe_filename(filename)}.pdf"'})
