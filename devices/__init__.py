"""Talking to calibration rigs: links, register maps, drivers, polling. No Flask, no database.

    async with BusPool() as pool:
        rig = FdrDriver("modbus+tcp://10.0.0.5:502?unit=1", pool, name="FDR bay 2")
        run = await rig.run_delivery(20, 40, "gasoline", nozzle=1)
"""
