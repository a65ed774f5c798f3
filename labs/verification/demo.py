"""The demo's verification side: one simulated rig of each kind (FDR and EMB over Modbus TCP, TMR
over a pseudo-terminal) as child processes, the rigs registered with the links they print, a few
enterprises' instruments, and `labs runner` to drive them."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from labs.accounts.service import SYSTEM
from labs.verification import service
from labs.verification.models import Rig, Verification, VerifiedInstrument

BIN = Path(sys.executable).parent
# kind: (labs-sim arguments, serial number the simulator identifies with)
SIMULATED = {
    "fdr": (["--modbus-tcp", "127.0.0.1:0", "--error-pct", "0.12", "--scatter-pct", "0.02", "--speed", "20"],
            "FDR-SIM-0001"),
    "emb": (["--modbus-tcp", "127.0.0.1:0", "--error-pct", "0.6", "--scatter-pct", "0.05", "--speed", "60",
             "--meter-constant", "1200"], "EMB-SIM-0001"),
    "tmr": (["--error-pct", "-0.8", "--speed", "20"], "TMR-SIM-0001"),
}
RIGS = {  # code, name of the standard, its certificate
    "fdr": ("FDR-01", "标准金属量器/质量流量计 0.05级", "JZ-FDR-2026-017"),
    "emb": ("EMB-01", "单相电能表检定装置 0.05级", "JZ-EMB-2026-008"),
    "tmr": ("TMR-01", "出租车计价器检定装置 (滚筒)", "JZ-TMR-2026-003"),
}
INSTRUMENTS = [
    ("fuel_dispenser", "JYJ-2019-08812", "91320115MA1MW8RT2X", "南京某石化加油站有限公司", "税控燃油加油机 CS46",
     "正星科技", "某市江宁区双龙大道 88 号 3 号岛",
     {"q_max_l_per_min": 60, "q_min_l_per_min": 5,
      "nozzles": [{"number": 1, "fuel": "gasoline"}, {"number": 2, "fuel": "diesel"}]}, None),
    ("electricity_meter", "DNB-3301-000457", "91110000600037341L", "北京某轴承股份有限公司", "DDZY102 单相费控智能电能表",
     "某电气股份有限公司", "厂区 2 号配电室",
     {"accuracy_class": "2", "connection": "direct", "elements": "single", "un_v": 220, "ib_a": 5, "imax_a": 60,
      "constant_imp_per_kwh": 1200}, None),
    ("taxi_meter", "JJQ-517-20231", "91320100134883325A", "某市某出租汽车有限公司", "JT-2000 出租汽车计价器",
     "某计价器厂", "出租车 苏A·T1234", {"k_imp_per_km": 1000, "tariff": "起步 13 元 (3 km)，2.3 元/km，等候 0.5 元/分钟"},
     "苏A·T1234"),
]


def start_simulated_rigs(instance_path: str) -> tuple[dict[str, str], list[subprocess.Popen]]:
    """Start the simulators; their links by kind, and the processes (to stop on exit)."""
    links, processes = {}, []
    for kind, (args, _) in SIMULATED.items():
        if kind == "tmr":
            args = ["--serial", os.path.join(instance_path, "tmr-sim"), *args]
        process = subprocess.Popen([str(BIN / "labs-sim"), kind, *args], stdout=subprocess.PIPE, text=True)
        processes.append(process)
        line = process.stdout.readline().strip()  # the simulator prints its link once it listens
        if not line:
            raise RuntimeError(f"the simulated {kind.upper()} rig did not start")
        links[kind] = line
    return links, processes


def seed(session, links: dict[str, str]) -> None:
    """Register (or re-point, each start gets new ports) the demo rigs; add the instruments and,
    the first time, one dispenser run for the runner to do at once."""
    valid_until = dt.date.today() + dt.timedelta(days=300)
    for kind, link in links.items():
        code, standard, certificate = RIGS[kind]
        rig = session.scalar(select(Rig).where(Rig.code == code))
        if rig is None:
            service.register_rig(session, SYSTEM, {
                "code": code, "kind": kind, "link": link, "serial_number": SIMULATED[kind][1],
                "settings": {"reference_constant": 600000} if kind == "emb" else {}, "standard_name": standard,
                "standard_certificate_no": certificate, "standard_valid_until": valid_until})
        else:
            service.update_rig(session, SYSTEM, rig.id, {"link": link})
    first_time = session.scalar(select(VerifiedInstrument.id).limit(1)) is None
    if first_time:
        for kind, serial, code, owner, model, maker, location, nameplate, plate in INSTRUMENTS:
            service.register_instrument(session, SYSTEM, {
                "kind": kind, "serial_number": serial, "owner_credit_code": code, "owner_name": owner,
                "model": model, "manufacturer": maker, "location": location, "nameplate": nameplate,
                "plate_number": plate})
        dispenser = session.scalar(select(VerifiedInstrument).where(VerifiedInstrument.kind == "fuel_dispenser"))
        rig = session.scalar(select(Rig).where(Rig.code == RIGS["fdr"][0]))
        if session.scalar(select(Verification.id).limit(1)) is None:
            service.request_verification(session, SYSTEM, dispenser.id, rig.id, nozzle=1)


def start_runner() -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "labs"), "runner", "--lease-seconds", "10"])
