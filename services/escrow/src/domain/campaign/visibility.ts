/**
 * Who may see a pledge: its backer, the campaign's creator, regulators and admins. Everybody else
 * must get NOT_FOUND, not PERMISSION_DENIED, so that pledge ids reveal nothing (API1, BOLA).
 */
import { assert, type CallerIdentity } from '@sizhong/kit/domain';
import type { Campaign } from './campaign';
import type { Pledge } from './pledge';
import { refuse } from './rules';

export function canViewPledge(pledge: Pledge, campaign: Campaign, viewer: CallerIdentity): boolean {
  assert(pledge.campaignId === campaign.id, `pledge ${pledge.id} belongs to campaign ${pledge.campaignId}, not ${campaign.id}`);
  if (viewer.participantId === pledge.backerId) return true;
  if (viewer.participantId === campaign.creatorId) return true;
  return viewer.roles.includes('regulator') || viewer.roles.includes('admin');
}

/** The pledge, or NOT_FOUND worded exactly like an unknown id. */
export function viewablePledge<P extends Pledge>(pledge: P, campaign: Campaign, viewer: CallerIdentity): P {
  if (!canViewPledge(pledge, campaign, viewer)) refuse('NOT_FOUND', 'pledge not found', { pledgeId: pledge.id });
  return pledge;
}
