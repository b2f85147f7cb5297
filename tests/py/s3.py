"""S3 chores for the tests, done with boto3 (not flowlake's code):

  s3.py put <endpoint> <bucket> <folder> <prefix> [--hive] [--only a,b,...]
      upload a generated sample's AWSLogs/ tree under <prefix>; --hive
      rewrites keys into AWS's Hive-compatible layout.
  s3.py put-file <endpoint> <bucket> <key> <file>
  s3.py count <endpoint> <s3://bucket/lake>   rows in a lake on S3, read by pyarrow
"""
import json
import os
import re
import sys

import boto3

PLAIN = re.compile(r"AWSLogs/(\d+)/vpcflowlogs/([^/]+)/(\d{4})/(\d{2})/(\d{2})/(.*)")


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                        aws_secret_access_key="test", region_name="us-east-1")


def hive(key):
    m = PLAIN.match(key)
    acct, region, y, mo, d, name = m.groups()
    return (f"AWSLogs/aws-account-id={acct}/aws-service=vpcflowlogs/aws-region={region}/"
            f"year={y}/month={mo}/day={d}/{name}")


def main():
    cmd = sys.argv[1]
    if cmd == "put":
        endpoint, bucket, folder, prefix = sys.argv[2:6]
        only = None
        if "--only" in sys.argv:
            only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
        s3 = client(endpoint)
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        keys = []
        for root, _, files in os.walk(os.path.join(folder, "AWSLogs")):
            for f in sorted(files):
                rel = os.path.relpath(os.path.join(root, f), folder)
                if only is not None and rel not in only:
                    continue
                key = hive(rel) if "--hive" in sys.argv else rel
                key = prefix + key
                s3.upload_file(os.path.join(root, f), bucket, key)
                keys.append(key)
        json.dump(sorted(keys), sys.stdout)
    elif cmd == "put-file":
        endpoint, bucket, key, path = sys.argv[2:6]
        client(endpoint).upload_file(path, bucket, key)
        json.dump([key], sys.stdout)
    elif cmd == "count":
        import pyarrow.dataset as ds
        from pyarrow import fs
        endpoint, url = sys.argv[2:4]
        s3fs = fs.S3FileSystem(endpoint_override=endpoint, access_key="test", secret_key="test",
                               region="us-east-1", scheme="http")
        path = url[len("s3://"):].rstrip("/") + "/flows"
        dataset = ds.dataset(path, filesystem=s3fs, format="parquet", partitioning="hive")
        files = dataset.files
        json.dump({"rows": dataset.count_rows(), "files": len(files),
                   "stray": [f for f in files if not f.endswith(".parquet")]}, sys.stdout)


if __name__ == "__main__":
    main()
