"""Views: what renders a plan or a cycle for people — the wheel (SVG), the plan as a
table, JSON, CSV or iCalendar, and the one .ics builder that the plan export, the mail
attachment and the calendar feed share. Pure: rows in, text or bytes out."""
