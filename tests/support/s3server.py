"""Prepares the moto S3 test server after start: an IAM user whose key signs every request from
then on (moto checks SigV4 signatures once its unauthenticated allowance is used up), and a
bucket. Prints shell assignments for the test to source."""
import json
import sys

import boto3
from botocore.config import Config

endpoint, ca_file, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
config = Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"})
bootstrap = dict(endpoint_url=endpoint, region_name="us-east-1", verify=ca_file, config=config,
                 aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")

iam = boto3.client("iam", **bootstrap)
iam.create_user(UserName="pitr-test")
iam.put_user_policy(UserName="pitr-test", PolicyName="s3-all", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="pitr-test")["AccessKey"]

s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", verify=ca_file,
                  config=config, aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=bucket)
print(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}")
print(f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}")
