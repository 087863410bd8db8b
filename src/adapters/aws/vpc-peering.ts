/** Finds the active peering connection that lets a security group in one VPC reference one in another. */
import { DescribeVpcPeeringConnectionsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { VpcPeering } from '../../app/ports.js';
import { callAws } from './aws-errors.js';

export async function activePeering(ec2: EC2Client, vpcId: string, peerVpcId: string): Promise<VpcPeering | undefined> {
  const both = [vpcId, peerVpcId];
  // Either VPC may have requested the peering: ask for both directions at once, then pick.
  const output = await callAws('DescribeVpcPeeringConnections', () =>
    ec2.send(
      new DescribeVpcPeeringConnectionsCommand({
        Filters: [
          { Name: 'status-code', Values: ['active'] },
          { Name: 'requester-vpc-info.vpc-id', Values: both },
          { Name: 'accepter-vpc-info.vpc-id', Values: both },
        ],
      }),
    ),
  );
  for (const peering of output.VpcPeeringConnections ?? []) {
    const sides = [peering.RequesterVpcInfo, peering.AccepterVpcInfo];
    const ours = sides.find((side) => side?.VpcId === vpcId);
    const theirs = sides.find((side) => side?.VpcId === peerVpcId);
    if (ours && theirs && peering.VpcPeeringConnectionId && theirs.OwnerId) {
      return { id: peering.VpcPeeringConnectionId, peerVpcId, peerAccountId: theirs.OwnerId };
    }
  }
  return undefined;
}
