/**
 * The AWS regions the registry's S3 driver accepts without an endpoint: every region of the
 * AWS SDK it is built with (aws-sdk-go v1.55.5's endpoint partitions, as vendored by
 * distribution 3.1.1). Registry 2.8's older SDK knows fewer of the newest ones.
 */
export const AWS_REGIONS: readonly string[] = [
    // aws
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    // aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e
    "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1", "us-iso-east-1", "us-iso-west-1",
    "us-isob-east-1", "eu-isoe-west-1",
];
