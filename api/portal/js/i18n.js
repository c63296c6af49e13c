// Chinese first (zh-CN), with English. `T(zh, en)` picks by the chosen language; domain terms
// keep their Chinese name in both, as officials look for it.

let lang = (globalThis.localStorage && localStorage.getItem("creditlog.lang")) || "zh";

export const getLang = () => lang;
export function setLang(l) {
  lang = l;
  localStorage.setItem("creditlog.lang", l);
  document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
}
export const T = (zh, en) => (lang === "zh" ? zh : `${en}`);

// Record and entry kinds as officials name them.
export const KINDS = {
  administrative_licence: ["行政许可", "administrative licence"],
  administrative_penalty: ["行政处罚", "administrative penalty"],
  inspection_result: ["抽查检查结果", "inspection result"],
  annual_report: ["年报", "annual report"],
  abnormal_operations_listing: ["列入经营异常名录", "abnormal operations listing"],
  abnormal_operations_removal: ["移出经营异常名录", "abnormal operations removal"],
  serious_dishonesty_listing: ["列入严重违法失信名单", "serious dishonesty listing"],
  serious_dishonesty_removal: ["移出严重违法失信名单", "serious dishonesty removal"],
  red_list: ["红名单", "red list"],
  black_list: ["黑名单", "black list"],
  commendation: ["表彰", "commendation"],
  credit_commitment: ["信用承诺", "credit commitment"],
  commitment_outcome: ["承诺履行情况", "commitment outcome"],
  verified_complaint: ["投诉举报（核实）", "verified complaint"],
  judgment: ["司法判决/执行", "judgment"],
  tax_credit_grade: ["纳税信用等级", "tax credit grade"],
  social_security_arrears: ["社保欠缴", "social security arrears"],
  environmental_violation: ["环境违法", "environmental violation"],
  work_safety_accident: ["安全生产事故", "work safety accident"],
  retraction: ["撤回/更正", "retraction"],
  "objection/filed": ["异议申请", "objection filed"],
  "objection/accepted": ["异议受理", "objection accepted"],
  "objection/resolved": ["异议处理结果", "objection resolved"],
  "repair/applied": ["信用修复申请", "credit repair applied"],
  "repair/interviewed": ["信用约谈", "credit interview"],
  "repair/decided": ["信用修复决定", "credit repair decided"],
  "commitment/made": ["企业信用承诺", "commitment made"],
  "decision/grade": ["信用风险分类结果", "grade decision"],
  "warning/raised": ["风险预警", "early warning"],
  "warning/acknowledged": ["预警处置", "warning acknowledged"],
  "sanction/imposed": ["联合惩戒措施", "sanction imposed"],
  "sanction/lifted": ["惩戒解除", "sanction lifted"],
  "redaction/redacted": ["依规删除", "redaction"],
  "identity/bind_enterprise_key": ["企业密钥绑定", "enterprise key bound"],
  "identity/rotate_key": ["密钥更换", "key rotated"],
  "identity/revoke_key": ["密钥吊销", "key revoked"],
};

export function kindName(kind) {
  const k = KINDS[kind] || KINDS[kind.replace(/^record\//, "")];
  if (!k) return kind;
  return lang === "zh" ? k[0] : `${k[1]} (${k[0]})`;
}

export const STATUS = {
  open: ["待处理", "open"],
  awaiting_acceptance: ["待受理", "awaiting acceptance"],
  under_review: ["核查中", "under review"],
  acceptance_refused: ["不予受理", "acceptance refused"],
  awaiting_interview: ["待约谈", "awaiting interview"],
  awaiting_decision: ["待决定", "awaiting decision"],
  "awaiting-draw": ["待抽取", "awaiting draw"],
  "not-revealed": ["逾期未抽取", "not revealed"],
  accepted: ["已受理", "accepted"],
  upheld: ["异议成立", "upheld"],
  rejected: ["异议不成立", "rejected"],
  refused: ["不予受理", "refused"],
  kept: ["已履行", "kept"],
  broken: ["未履行", "broken"],
  pending: ["履行中", "pending"],
  approved: ["准予修复", "approved"],
  denied: ["不予修复", "denied"],
  drawn: ["已抽取", "drawn"],
  published: ["已公布", "published"],
};

export const statusName = (s) => (STATUS[s] ? T(STATUS[s][0], STATUS[s][1]) : s);
