#!/usr/bin/env bash
# t8040 — owns the Azure-shaped table API of ferry.mltable (issue 13): filter in the issue's bare
# form (`fare > 3`, a column named col: `col > 3`) and in Azure's col("trip distance") form,
# with and/or/not, parentheses, strings, numbers, datetime(...) and ISO strings, equal to the
# CLI's `ferry mltable export` of MLTable files holding the same filter in YAML (both forms)
# and to pandas on the whole frame; a bad expression is an MLTableError (ValueError and OSError)
# when it is added, naming the problem and its position; convert_column_types with DataType
# (int, float, boolean with true/false values, string, datetime with formats) equal to the
# CLI's export of the same convert_column_types in YAML, dtypes following; Azure's paths;
# extract_columns_from_partition_format over a file set's Path ({account}/{container}/...)
# equal to the CLI's export of the same step in YAML; from_delimited_files / from_paths;
# no account key in any exception. pytest under Debian's python3: tests/python/test_mltable_azure.py.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py pandas numpy

step "a trips table, the same filter in YAML (bare and col() forms), a typed copy, a file set of images"
fx=$TEST_TMP/fx
mkdir -p "$fx/trips" "$fx/bare" "$fx/colform" "$fx/typed" "$fx/pets/images/cat" "$fx/pets/images/dog" "$fx/pets-part"
$PY - "$fx/trips/trips.csv" <<'PY'
import random, sys
rnd = random.Random(8040)
cities = ["Oslo", "Bergen", "New York", "Zürich"]
with open(sys.argv[1], "w") as f:
    f.write("id,fare,trip distance,city,when,paid,col\n")
    for i in range(120):
        fare = "" if i % 17 == 5 else "%.2f" % (rnd.random() * 30)
        when = "%02d/%02d/2024 %02d:%02d:00" % (1 + i % 28, 1 + i % 12, i % 24, i % 60)
        f.write("%d,%s,%.1f,%s,%s,%s,%d\n" % (i, fare, rnd.random() * 12, cities[i % 4], when,
                                             "yes" if i % 3 else "no", i % 7))
PY
read_step='  - read_delimited:
      header: all_files_same_headers'
printf 'paths:\n  - file: ./trips.csv\ntransformations:\n%s\n' "$read_step" >"$fx/trips/MLTable"
# the filter the pytest file applies in Python: bare names, Azure's col(), and/or/not, parentheses
bare='(fare > 3 and col("trip distance") <= 8.5) or not (city != "Oslo" or col >= 4)'
colf='(col("fare") > 3 and col("trip distance") <= 8.5) or not (col("city") != '"'"'Oslo'"'"' or col("col") >= 4)'
printf 'paths:\n  - file: ../trips/trips.csv\ntransformations:\n%s\n  - filter: %s\n' "$read_step" "'$bare'" >"$fx/bare/MLTable"
printf 'paths:\n  - file: ../trips/trips.csv\ntransformations:\n%s\n  - filter: "%s"\n' "$read_step" "${colf//\"/\\\"}" >"$fx/colform/MLTable"
cat >"$fx/typed/MLTable" <<'YML'
paths:
  - file: ../trips/trips.csv
transformations:
  - read_delimited:
      header: all_files_same_headers
      infer_column_types: false
  - convert_column_types:
      - columns: [id, col]
        column_type: int
      - columns: fare
        column_type: float
      - columns: paid
        column_type:
          boolean:
            true_values: ["yes"]
            false_values: ["no"]
      - columns: when
        column_type:
          datetime:
            formats: ["%d/%m/%Y %H:%M:%S"]
      - columns: trip distance
        column_type: string
YML
for l in cat dog; do for i in 1 2 3; do printf '%s %s' "$l" "$i" >"$fx/pets/images/$l/$i.jpg"; done; done
printf 'paths:\n  - pattern: ./images/**/*.jpg\n' >"$fx/pets/MLTable"
printf 'paths:\n  - pattern: ../pets/images/**/*.jpg\ntransformations:\n  - extract_columns_from_partition_format: "{account}/{container}/pets/images/{label}/{file}.jpg"\n  - drop_columns: [account]\n' >"$fx/pets-part/MLTable"
c=$(new_container)
az_datastore tripds "$c"
expect_ok ferry upload "$fx" azureml://datastores/tripds/paths/

step "pytest tests/python/test_mltable_azure.py"
export T8_TMP=$TEST_TMP T8_DS=tripds T8_KEY=$AZURITE_KEY T8_FERRY=$FERRY T8_CONTAINER=$c T8_FX=$fx T8_BARE=$bare
run_pytest test_mltable_azure.py
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"
