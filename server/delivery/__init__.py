"""The delivery engine: the deliveries table is the queue; workers claim, post and record.

``queue`` holds every state change (claims with leases, transitions), ``policy`` decides what an
error means, ``runner`` posts one claimed delivery through its adapter, and ``dispatcher`` is
the tick that keeps a pool of runners busy.
"""
