from arshjul.cli import app

app(prog_name="arshjul")
