"""allreduce.py — one rank of a distributed test job: records the environment its
framework gave it and (pytorch) joins a real torch.distributed gloo group over
MASTER_ADDR:MASTER_PORT and all-reduces its rank + 1; writes both to OUT/rank_<RANK>.json."""
import json
import os
import sys

out = sys.argv[1]
names = ["RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "NODE_RANK", "GROUP_RANK", "ROLE_RANK",
         "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
         "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "AZ_BATCH_MASTER_NODE", "TF_CONFIG",
         "AZUREML_RUN_ID"]
rec = {"env": {k: os.environ[k] for k in names if k in os.environ}, "pid": os.getpid()}
if len(sys.argv) > 2 and sys.argv[2] == "allreduce":
    import datetime
    import torch
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=40))
    t = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    rec["allreduce"] = t.item()
    rec["dist_rank"] = dist.get_rank()
    rec["dist_world"] = dist.get_world_size()
    dist.destroy_process_group()
name = "rank_%s.json" % os.environ.get("RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "x"))
if "TF_CONFIG" in os.environ:
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    name = "tf_%s_%d.json" % (task["type"], task["index"])
with open(os.path.join(out, name), "w") as f:
    json.dump(rec, f)
print("rank", os.environ.get("RANK"), "done", rec.get("allreduce", ""))
