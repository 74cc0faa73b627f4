"""count_rows.py — each rank counts the rows of its share of a CSV; a gloo all-reduce
sums them; rank 0 writes the total. Runs under ferry, torchrun or Azure ML alike: the
rendezvous comes from the environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE)."""
import argparse
import os

import torch
import torch.distributed as dist

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--out")
args = parser.parse_args()

dist.init_process_group("gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
with open(args.data) as f:
    rows = f.read().splitlines()[1:]
mine = rows[rank::world]
count = torch.tensor([float(len(mine))])
dist.all_reduce(count, op=dist.ReduceOp.SUM)
print("rank %d of %d (node %s, local rank %s): %d rows here, %d in all"
      % (rank, world, os.environ.get("NODE_RANK"), os.environ.get("LOCAL_RANK"), len(mine), count.item()))
if rank == 0:
    with open(os.path.join(args.out, "rows.txt"), "w") as f:
        f.write("%d\n" % count.item())
dist.destroy_process_group()
