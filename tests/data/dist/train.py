"""train.py — the seed's "Scale across multiple storage accounts" training script, cut
down: each rank picks args.data[rank] (one storage account per node) and writes what it
read to OUT/rank_<RANK>.txt; every rank also writes OUT/shared.txt (the same name)."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument('--data', nargs='+')
parser.add_argument('--out')
args = parser.parse_args()

world_size = int(os.environ["WORLD_SIZE"])
rank = int(os.environ["RANK"])
local_rank = int(os.environ["LOCAL_RANK"])

data_path_for_this_rank = args.data[rank].rstrip(',')  # the seed's command puts a comma after the first
with open(os.path.join(data_path_for_this_rank, "data.txt")) as f:
    text = f.read()
with open(os.path.join(args.out, "rank_%d.txt" % rank), "w") as f:
    f.write("rank %d of %d read %s" % (rank, world_size, text))
with open(os.path.join(args.out, "shared.txt"), "w") as f:
    f.write("written by rank %d\n" % rank)
print("rank", rank, "read", text.strip())
