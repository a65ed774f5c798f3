"""Simulated FDR, EMB and TMR rigs speaking the rigs' protocols, with a device under test and faults.

    with simulated_rig("fdr", "tcp", options=RigOptions(error_pct=0.2, speed=100)) as sim:
        ...  # drive sim.link; sim.models[0] holds the simulated truth
"""
