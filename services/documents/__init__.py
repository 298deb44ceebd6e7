"""Documents people carry away: PDFs (WeasyPrint), spreadsheets (CSV, openpyxl) and
charts (matplotlib SVG), each made from the same plain view-model dict the portal's
page renders, so a page and its PDF never disagree.

- `pdf`: HTML (Jinja2 templates in `templates/`) to PDF; `render_html` gives the
  same markup to a page.
- `sheets`: CSV and .xlsx exports with fixed column sets and human headers.
- `charts`: SVG charts, each with the data table a screen reader reads.
- `labels`: names, not codes, for every value a person reads.
"""
