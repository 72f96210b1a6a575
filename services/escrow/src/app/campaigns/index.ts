// Product crowdfunding use cases; see campaigns.ts.
export { Campaigns, type CreateCampaignInput } from './campaigns';
export { campaignJobKinds, type CampaignView, holdTransferId, pledgeHoldGraceMs } from './context';
