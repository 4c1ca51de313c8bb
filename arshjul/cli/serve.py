"""`arshjul serve` and `arshjul simulate`: the embedded default in one command, and a
whole cycle played on a simulated clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from arshjul import service
from arshjul.cli.common import (
    EMBEDDED_PREFECT,
    OrgOption,
    check_year,
    console,
    database,
    errors,
    export_settings,
    fail,
    load,
    parse_date,
    require_prefect,
)
from arshjul.cli.web import check_link_keys
from arshjul.core.credentials import login_file, use_prefect_sign_in
from arshjul.core.settings import get_settings


def serve(
    simulate: Annotated[
        int | None,
        typer.Option("--simulate", help="Spela också upp en hel cykel (t.ex. 2027) så att UI:t visar ett fyllt år."),
    ] = None,
    org: OrgOption = None,
) -> None:
    """Starta allt: Prefect-server och UI, deploymenterna, tjänstens klocka och e-postsänkan."""
    definition = load(org)
    export_settings(org)
    settings = get_settings()
    engine = database()
    server = sink = scheduler = simulation = web = None
    check_link_keys()
    refused = service.check_mail_login(settings) if settings.smtp_host else None
    try:
        if EMBEDDED_PREFECT:
            if service.api_healthy(service.EMBEDDED_API_URL):
                fail("en Prefect-server svarar redan på 127.0.0.1:4200 (kör `arshjul serve` redan?)")
            console.print("Startar Prefect-servern (första gången tar det en stund) …", highlight=False)
            server = service.PrefectServer(settings.prefect_home, auth_string=use_prefect_sign_in(settings)).start()
        else:
            require_prefect()
        if not settings.smtp_host:
            from notifications.sink import MailSink

            if service.port_open("127.0.0.1", settings.sink_port):
                fail(f"porten {settings.sink_port} för e-postsänkan är upptagen (ARSHJUL_SINK_PORT)")
            sink = MailSink(settings.mail_dir, settings.sink_port).start()
        scheduler = service.start_service_clock(engine, definition.organisation.info.timezone)
        if service.port_open(settings.web_host, settings.web_port):
            fail(f"porten {settings.web_port} för webbappen är upptagen (ARSHJUL_WEB_PORT)")
        web = subprocess.Popen([sys.executable, "-m", "arshjul", "web"], env=dict(os.environ))
        if simulate:
            command = [sys.executable, "-m", "arshjul", "simulate", str(simulate)]
            simulation = subprocess.Popen(command, env=dict(os.environ))
        mail = "SMTP " + settings.smtp_host if settings.smtp_host else str(settings.mail_dir.resolve())
        if not EMBEDDED_PREFECT:
            sign_in = "den egna Prefect-serverns inloggning"
        elif settings.prefect_auth_string:
            sign_in = "inloggning enligt ARSHJUL_PREFECT_AUTH_STRING"
        elif settings.prefect_auth:
            sign_in = f"inloggning (användare:lösenord) i {login_file(settings).resolve()}"
        else:
            sign_in = "UTAN inloggning (ARSHJUL_PREFECT_AUTH=false)"
        console.print(
            f"Årshjulet körs för {definition.organisation.info.name}.\n"
            f"  Prefect UI:  {settings.ui_url} – {sign_in}\n"
            f"  Webbappen:   {settings.resolved_public_url} (länkarna i mejlen; regionstabens årsöversikt på "
            f"{settings.resolved_public_url}/regionstab, samma inloggning)\n"
            f"  E-post:      {mail}\n"
            f"  Databas:     {settings.resolved_database_url}\n"
            + (f"  Simulering:  cykel {simulate} spelas upp i bakgrunden\n" if simulate else "")
            + "Ctrl-C stoppar.",
            highlight=False,
        )
        reconcile_at_start(orphaned=EMBEDDED_PREFECT)
        if refused:
            # Loud, but the rest runs: steps go on, mail waits in the outbox, and the
            # mail flow's Failed run says it in the Prefect UI as soon as it is served.
            errors.print(f"[red]E-post skickas inte:[/red] {refused}", highlight=False, soft_wrap=True)
            service.report_mail_flow_once_served()
        from prefect import serve as prefect_serve

        # Prefect's runner stops gracefully on SIGTERM but not on Ctrl-C's SIGINT.
        signal.signal(signal.SIGINT, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
        prefect_serve(*service.served_deployments(), pause_on_shutdown=False, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        if web and web.poll() is None:
            web.terminate()
            web.wait(timeout=30)
        if simulation and simulation.poll() is None:
            simulation.terminate()
            simulation.wait(timeout=30)
        if scheduler:
            scheduler.shutdown(wait=False)
        if sink:
            sink.stop()
        if server:
            server.stop()
        console.print("Årshjulet stoppat.", highlight=False)


def reconcile_at_start(*, orphaned: bool) -> None:
    """Before the runner starts: heal what the last stop (or a crash) left out of line
    with the app database. On the embedded default this process is the only runner, so a
    run still Running has lost its process."""
    from tasks.reconcile import ensure_zombie_detection, reconcile_live

    ensure_zombie_detection()
    heals = reconcile_live(orphaned=orphaned)
    if heals:
        console.print(f"Avstämning: {heals} körningar eller svar rättade efter förra stoppet.", highlight=False)


def simulate(
    year: Annotated[int, typer.Argument(help="Planåret, t.ex. 2027.")],
    late_share: Annotated[float, typer.Option("--late-share", help="Andel steg som lämnas in sent (0–1).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Slumpfrö: samma frö ger samma år.")] = 1,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Spela bara fram till och med detta datum (ÅÅÅÅ-MM-DD); en senare körning fortsätter därifrån.",
        ),
    ] = None,
    output_json: Annotated[bool, typer.Option("--json", help="Sammanfattningen som JSON.")] = False,
    org: OrgOption = None,
) -> None:
    """Spela upp en hel cykel genom riktiga flödeskörningar på en simulerad klocka."""
    check_year(year)
    if not 0 <= late_share <= 1:
        fail("--late-share ska vara mellan 0 och 1")
    window = dict(earliest=dt.date(year - 2, 1, 1), latest=dt.date(year + 2, 12, 31))
    stop_day = parse_date(until, "--until", **window) if until else None
    load(org)
    export_settings(org)
    settings = get_settings()
    database()
    server = sink = None
    try:
        if EMBEDDED_PREFECT and not service.api_healthy(service.EMBEDDED_API_URL):
            errors.print(
                "Ingen Prefect-server körs: startar en egen (historiken sparas i var/prefect) …", highlight=False
            )
            server = service.PrefectServer(settings.prefect_home, auth_string=use_prefect_sign_in(settings)).start()
        elif not EMBEDDED_PREFECT:
            require_prefect()
        if not settings.smtp_host and not service.port_open("127.0.0.1", settings.sink_port):
            from notifications.sink import MailSink

            sink = MailSink(settings.mail_dir, settings.sink_port).start()
        from flows.simulate_year import simulate as run_simulation
        from flows.simulation_outcome import SimulationStuck

        try:
            summary = run_simulation(
                year,
                late_share=late_share,
                seed=seed,
                until=stop_day,
                progress=lambda message: errors.print(message, highlight=False),
            )
        except SimulationStuck as stuck:
            fail(str(stuck), code=1)
    finally:
        if sink:
            sink.stop()
        if server:
            server.stop()
    result = asdict(summary)
    if output_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=f"Simulering av cykel {year}", header_style="bold", show_header=False)
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(simulate)
