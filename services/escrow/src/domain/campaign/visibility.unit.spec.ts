// Proves who may see a pledge (backer, creator, regulators, admins) and that everybody else gets NOT_FOUND, never PERMISSION_DENIED.
import { InvariantViolation, type CallerIdentity } from '@sizhong/kit/domain';
import { cny, creatorId, refusalOf, withPledges } from './fixtures';
import { canViewPledge, viewablePledge } from './visibility';

const { campaign, pledges } = withPledges([{ pledgeId: 'pl_1', backerId: 'pt_backer', amount: cny(5) }]);
const pledge = pledges[0]!;
const viewer = (participantId: string, ...roles: CallerIdentity['roles']): CallerIdentity => ({ participantId, roles });

describe('canViewPledge', () => {
  it.each([
    ['the backer', viewer('pt_backer', 'backer')],
    ['the campaign creator', viewer(creatorId, 'creator')],
    ['a regulator', viewer('pt_regulator', 'regulator')],
    ['an admin', viewer('pt_admin', 'admin')],
  ])('lets %s see the pledge', (_name, who) => {
    expect(canViewPledge(pledge, campaign, who)).toBe(true);
    expect(viewablePledge(pledge, campaign, who)).toBe(pledge);
  });

  it.each([
    ['another backer', viewer('pt_other', 'backer')],
    ['another creator', viewer('pt_other_creator', 'creator')],
    ['an arbiter', viewer('pt_arbiter', 'arbiter')],
    ['someone without roles', viewer('pt_nobody')],
  ])('hides the pledge from %s behind NOT_FOUND', (_name, who) => {
    expect(canViewPledge(pledge, campaign, who)).toBe(false);
    expect(refusalOf(() => viewablePledge(pledge, campaign, who))).toMatchObject({ code: 'NOT_FOUND', message: 'pledge not found' });
  });

  it('treats a pledge checked against another campaign as a programmer error', () => {
    expect(() => canViewPledge({ ...pledge, campaignId: 'cp_2' }, campaign, viewer('pt_backer'))).toThrow(InvariantViolation);
  });
});
