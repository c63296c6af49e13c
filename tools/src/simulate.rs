//! `creditlog simulate`: a synthetic but plausible jurisdiction, written as the files the CLI
//! loads, for demos, load tests and work on grading models.
//!
//! A made-up prefecture with Zibo's district codes: eight departments with their keys, `--firms`
//! enterprises with valid Unified Social Credit Codes, and `--records` department records of
//! every kind, each signed by its department as a DSSE envelope. Everything is a function of
//! `--seed`, `--firms` and `--records`: the same arguments give byte-identical files, keys
//! included. Anyone who knows the seed can therefore rebuild the keys: they are for
//! simulation only.
//!
//! **How the class mix comes out right.** Each firm gets an intended risk class in the
//! proportions of `shared/DOMAIN.md` §1 (A 65.5%, B 25%, C 8%, D 1.5%; the 0.5% Dandong leaves
//! unclassified goes to A). Its records are drawn from that class's mix of events: an A firm
//! gets licences, annual reports filed on time, clean inspections, tax grade A or B,
//! commendations and kept commitments; a D firm gets serious penalties, a serious-dishonesty
//! listing, black lists, tax grade D, unperformed judgments, accidents. Riskier firms also get
//! more records (they meet inspectors more often). A grading model that reads these records
//! sensibly should reproduce roughly the intended mix; `profiles.csv` holds the intended
//! class of every firm as the ground truth to compare against.
//!
//! Only integer and IEEE-exact floating-point operations drive the generator (no `powf`, no
//! `ln`), so the output is the same on every platform.

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use ed25519_dalek::SigningKey;
use registry::keyfile;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use verifier::date::Date;
use verifier::envelope::{key_id, Envelope, RECORD_TYPE};
use verifier::record::{self as r, csv_columns, Record, RecordFields, RecordKind as K};
use verifier::uscc::{Uscc, ALPHABET};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Output folder; must not exist or be empty.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of enterprises.
    #[arg(long)]
    pub firms: usize,
    /// Number of department records.
    #[arg(long)]
    pub records: usize,
    /// Seed: the same seed, --firms and --records give byte-identical files, keys included.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write every department's penalties and licences as 双公示 exports, the files its
    /// system would give an official: exports/CODE__KIND.xlsx and exports/CODE__KIND.gb18030.csv.
    #[arg(long)]
    pub exports: bool,
}

/// First and last day of the simulated records.
const FIRST_DAY: (u32, u32, u32) = (2024, 1, 1);
const LAST_DAY: (u32, u32, u32) = (2026, 11, 20);

// ---------------------------------------------------------------------------------------------
// A small deterministic PRNG: xoshiro256** seeded through SplitMix64.

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone)]
struct Rng([u64; 4]);

impl Rng {
    /// An independent stream for `label` under `seed`.
    fn derived(seed: u64, label: &str) -> Self {
        let mut state = seed;
        let mut h = splitmix(&mut state);
        for b in label.bytes() {
            let mut t = h ^ u64::from(b);
            h = splitmix(&mut t);
        }
        let mut s = h;
        Self([splitmix(&mut s), splitmix(&mut s), splitmix(&mut s), splitmix(&mut s)])
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given (non-negative, not all zero) weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// An amount in fen: whole multiples of `step` yuan from `lo` to `hi` yuan.
    fn yuan(&mut self, lo: u64, hi: u64, step: u64) -> u64 {
        (lo + self.below((hi - lo) / step + 1) * step) * 100
    }
}

// ---------------------------------------------------------------------------------------------
// The jurisdiction: departments, regions, industries, licences.

#[derive(Debug)]
struct Dept {
    code: &'static str,
    name: &'static str,
    kinds: &'static [K],
    domains: &'static [&'static str],
}

const AMR: usize = 0;
const TAX: usize = 1;
const HRSS: usize = 2;
const EEB: usize = 3;
const EMB: usize = 4;
const COURT: usize = 5;
const DRC: usize = 6;
const HOTLINE: usize = 7;

/// Every department may also retract its own entries; the simulator writes no retractions (they
/// point at log indices known only after loading), so those CSV files are empty templates.
const DEPTS: [Dept; 8] = [
    Dept {
        code: "zibo-amr",
        name: "淄博市市场监督管理局",
        kinds: &[
            K::AdministrativeLicence,
            K::AdministrativePenalty,
            K::InspectionResult,
            K::AnnualReport,
            K::AbnormalOperationsListing,
            K::AbnormalOperationsRemoval,
            K::SeriousDishonestyListing,
            K::SeriousDishonestyRemoval,
            K::CreditCommitment,
            K::CommitmentOutcome,
            K::VerifiedComplaint,
            K::Retraction,
        ],
        domains: &["market", "food", "drugs", "special_equipment", "product_quality"],
    },
    Dept {
        code: "zibo-tax",
        name: "国家税务总局淄博市税务局",
        kinds: &[K::TaxCreditGrade, K::AdministrativePenalty, K::RedList, K::BlackList, K::Retraction],
        domains: &["tax"],
    },
    Dept {
        code: "zibo-hrss",
        name: "淄博市人力资源和社会保障局",
        kinds: &[K::SocialSecurityArrears, K::AdministrativePenalty, K::InspectionResult, K::BlackList, K::Retraction],
        domains: &["labour", "social_security"],
    },
    Dept {
        code: "zibo-eeb",
        name: "淄博市生态环境局",
        kinds: &[
            K::EnvironmentalViolation,
            K::AdministrativePenalty,
            K::AdministrativeLicence,
            K::InspectionResult,
            K::Retraction,
        ],
        domains: &["environment"],
    },
    Dept {
        code: "zibo-emb",
        name: "淄博市应急管理局",
        kinds: &[
            K::WorkSafetyAccident,
            K::AdministrativePenalty,
            K::AdministrativeLicence,
            K::InspectionResult,
            K::BlackList,
            K::Retraction,
        ],
        domains: &["work_safety", "hazardous_chemicals"],
    },
    Dept {
        code: "zibo-court",
        name: "淄博市中级人民法院",
        kinds: &[K::Judgment, K::BlackList, K::Retraction],
        domains: &["judicial"],
    },
    Dept {
        code: "zibo-drc",
        name: "淄博市发展和改革委员会",
        kinds: &[K::Commendation, K::RedList, K::CreditCommitment, K::CommitmentOutcome, K::Retraction],
        domains: &["social_credit"],
    },
    Dept {
        code: "zibo-12345",
        name: "淄博市12345政务服务便民热线",
        kinds: &[K::VerifiedComplaint, K::Retraction],
        domains: &["complaints"],
    },
];

/// Document-number prefix of a department (market regulation adds the district).
fn doc_prefix(dept: usize, region: &Region, what: &str) -> String {
    let d = match dept {
        AMR => return format!("淄{}市监{what}", region.abbr),
        TAX => "淄税",
        HRSS => "淄人社",
        EEB => "淄环",
        EMB => "淄应急",
        DRC => "淄发改",
        _ => "淄",
    };
    format!("{d}{what}")
}

#[derive(Debug)]
struct Region {
    code: &'static str,
    name: &'static str,
    abbr: &'static str,
    weight: u64,
}

const REGIONS: [Region; 8] = [
    Region { code: "370302", name: "淄川区", abbr: "川", weight: 14 },
    Region { code: "370303", name: "张店区", abbr: "张", weight: 25 },
    Region { code: "370304", name: "博山区", abbr: "博", weight: 10 },
    Region { code: "370305", name: "临淄区", abbr: "临", weight: 16 },
    Region { code: "370306", name: "周村区", abbr: "周", weight: 10 },
    Region { code: "370321", name: "桓台县", abbr: "桓", weight: 10 },
    Region { code: "370322", name: "高青县", abbr: "高", weight: 7 },
    Region { code: "370323", name: "沂源县", abbr: "沂", weight: 8 },
];

const L_FOOD_SELL: usize = 0;
const L_FOOD_MAKE: usize = 1;
const L_DRUG: usize = 2;
const L_SE_USE: usize = 3;
const L_SE_MAKE: usize = 4;
const L_SAFETY: usize = 5;
const L_HAZCHEM: usize = 6;
const L_POLLUTION: usize = 7;

#[derive(Debug)]
struct Licence {
    name: &'static str,
    dept: usize,
    /// Years of validity; 0 for none.
    years: u32,
    scopes: &'static [&'static str],
}

const LICENCES: [Licence; 8] = [
    Licence {
        name: "食品经营许可证",
        dept: AMR,
        years: 5,
        scopes: &[
            "预包装食品销售（含冷藏冷冻食品）、散装食品销售（不含冷藏冷冻食品）",
            "热食类食品制售、冷食类食品制售",
            "预包装食品销售（不含冷藏冷冻食品）、保健食品销售",
        ],
    },
    Licence {
        name: "食品生产许可证",
        dept: AMR,
        years: 5,
        scopes: &[
            "粮食加工品（小麦粉、挂面）",
            "糕点（烘烤类糕点）",
            "饮料（瓶（桶）装饮用水）",
            "调味品（酱油、食醋）",
        ],
    },
    Licence {
        name: "药品经营许可证",
        dept: AMR,
        years: 5,
        scopes: &["中成药、化学药制剂、抗生素制剂、生化药品、生物制品（除疫苗）"],
    },
    Licence {
        name: "特种设备使用登记证",
        dept: AMR,
        years: 0,
        scopes: &["场（厂）内专用机动车辆（叉车）", "压力容器（储气罐）", "电梯（乘客电梯）"],
    },
    Licence {
        name: "特种设备生产许可证",
        dept: AMR,
        years: 4,
        scopes: &["压力管道元件制造（阀门）", "压力容器制造（D级）"],
    },
    Licence { name: "安全生产许可证", dept: EMB, years: 3, scopes: &["危险化学品生产"] },
    Licence {
        name: "危险化学品经营许可证",
        dept: EMB,
        years: 3,
        scopes: &["汽油、柴油、甲醇（不带储存设施经营）", "盐酸、硫酸、氢氧化钠（带储存设施经营）"],
    },
    Licence {
        name: "排污许可证",
        dept: EEB,
        years: 5,
        scopes: &[
            "大气污染物：颗粒物、二氧化硫、氮氧化物；水污染物：化学需氧量、氨氮",
            "大气污染物：颗粒物、挥发性有机物",
        ],
    },
];

#[derive(Debug)]
struct Industry {
    key: &'static str,
    /// Endings of company names.
    forms: &'static [&'static str],
    /// Factories: environmental violations and work-safety accidents happen here.
    industrial: bool,
    licences: &'static [usize],
}

const I_FOOD: usize = 5;
const I_CATERING: usize = 6;
const I_PHARMACY: usize = 7;
const I_TRADE: usize = 8;
const I_LOGISTICS: usize = 9;

const INDUSTRIES: [Industry; 10] = [
    Industry {
        key: "化工",
        forms: &["化工有限公司", "精细化工有限公司", "化学科技有限公司"],
        industrial: true,
        licences: &[L_SAFETY, L_HAZCHEM, L_POLLUTION],
    },
    Industry {
        key: "陶瓷",
        forms: &["陶瓷有限公司", "陶瓷科技有限公司", "耐火材料有限公司"],
        industrial: true,
        licences: &[L_POLLUTION, L_SE_USE],
    },
    Industry {
        key: "机械",
        forms: &["机械制造有限公司", "机械有限公司", "装备制造有限公司"],
        industrial: true,
        licences: &[L_SE_USE, L_SE_MAKE, L_POLLUTION],
    },
    Industry {
        key: "建材",
        forms: &["新型建材有限公司", "建材有限公司", "水泥制品有限公司"],
        industrial: true,
        licences: &[L_POLLUTION, L_SE_USE],
    },
    Industry {
        key: "纺织",
        forms: &["纺织有限公司", "丝绸有限公司", "家纺有限公司"],
        industrial: true,
        licences: &[L_POLLUTION],
    },
    Industry {
        key: "食品",
        forms: &["食品有限公司", "食品科技有限公司", "面粉有限公司"],
        industrial: false,
        licences: &[L_FOOD_MAKE, L_FOOD_SELL],
    },
    Industry {
        key: "餐饮", forms: &["餐饮管理有限公司", "餐饮有限公司"], industrial: false, licences: &[L_FOOD_SELL]
    },
    Industry {
        key: "医药", forms: &["医药连锁有限公司", "大药房有限公司"], industrial: false, licences: &[L_DRUG]
    },
    Industry {
        key: "商贸",
        forms: &["商贸有限公司", "贸易有限公司", "商业连锁有限公司"],
        industrial: false,
        licences: &[L_FOOD_SELL, L_SE_USE],
    },
    Industry {
        key: "物流", forms: &["物流有限公司", "供应链管理有限公司"], industrial: false, licences: &[L_SE_USE]
    },
];

/// Industry weights of companies (type 1).
const INDUSTRY_WEIGHTS: [f64; 10] = [8.0, 7.0, 12.0, 6.0, 6.0, 8.0, 10.0, 5.0, 28.0, 10.0];

/// Individual businesses (type 2): name ending and industry.
const SHOPS: [(&str, usize); 9] = [
    ("小吃店", I_CATERING),
    ("烧烤店", I_CATERING),
    ("饭店", I_CATERING),
    ("便利店", I_TRADE),
    ("五金店", I_TRADE),
    ("日用品商店", I_TRADE),
    ("水果店", I_TRADE),
    ("大药房", I_PHARMACY),
    ("面食加工坊", I_FOOD),
];

/// Farmers' co-operatives (type 3): what they do.
const COOPS: [&str; 5] = ["果蔬种植", "粮食种植", "畜禽养殖", "农机服务", "苗木种植"];

const NAME_FIRST: [&str; 30] = [
    "鑫", "华", "金", "瑞", "恒", "宏", "海", "天", "永", "东", "泰", "盛", "正", "联", "福", "德", "兴", "昌", "隆",
    "凯", "嘉", "佳", "润", "博", "信", "诚", "达", "安", "和", "丰",
];
const NAME_SECOND: [&str; 30] = [
    "源", "泰", "诚", "丰", "通", "达", "纳", "成", "盛", "岳", "和", "强", "世", "创", "瑞", "利", "旺", "晟", "宇",
    "辉", "峰", "远", "邦", "益", "力", "鼎", "众", "海", "林", "川",
];

// ---------------------------------------------------------------------------------------------
// Firms.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    A,
    B,
    C,
    D,
}

impl Class {
    const ALL: [Class; 4] = [Class::A, Class::B, Class::C, Class::D];
    /// Intended shares, per mille (`shared/DOMAIN.md` §1, Dandong).
    const PER_MILLE: [u64; 4] = [655, 250, 80, 15];
    /// How much more often than an A firm a firm of the class appears in records.
    const RECORD_WEIGHT: [u64; 4] = [10, 14, 25, 40];

    fn index(self) -> usize {
        self as usize
    }

    fn letter(self) -> &'static str {
        ["A", "B", "C", "D"][self.index()]
    }
}

#[derive(Debug)]
struct Firm {
    uscc: Uscc,
    name: String,
    region: usize,
    /// 1 enterprise, 2 individual business, 3 farmers' co-operative.
    org_type: u8,
    industry: usize,
    staff: u32,
    /// Discloses its financial figures in annual reports.
    discloses: bool,
    class: Class,
    /// Bit `y - 2023` set once the firm has an annual report for year `y`.
    report_years: u8,
    /// Bit `y - 2023` set once the firm has a tax credit grade for year `y`.
    tax_years: u8,
}

/// Tax and report years the simulation covers (reports filed and grades published 2024–2026).
const YEARS: [u32; 3] = [2023, 2024, 2025];

fn make_firms(seed: u64, n: usize) -> Result<Vec<Firm>> {
    let mut rng = Rng::derived(seed, "firms");
    // Exact class quotas (largest remainder), then shuffled onto the firms.
    let mut counts: Vec<u64> = Class::PER_MILLE.iter().map(|p| n as u64 * p / 1000).collect();
    let mut rest: Vec<(u64, usize)> =
        Class::PER_MILLE.iter().enumerate().map(|(i, p)| (n as u64 * p % 1000, i)).collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut missing = n as u64 - counts.iter().sum::<u64>();
    for (_, i) in rest {
        if missing == 0 {
            break;
        }
        counts[i] += 1;
        missing -= 1;
    }
    let mut classes: Vec<Class> =
        Class::ALL.iter().zip(&counts).flat_map(|(c, k)| std::iter::repeat_n(*c, *k as usize)).collect();
    for i in (1..classes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        classes.swap(i, j);
    }

    let region_weights: Vec<f64> = REGIONS.iter().map(|r| r.weight as f64).collect();
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut firms = Vec::with_capacity(n);
    for class in classes {
        let region = rng.weighted(&region_weights);
        let org_type = match rng.weighted(&[85.0, 10.0, 5.0]) {
            0 => 1,
            1 => 2,
            _ => 3,
        };
        let uscc = loop {
            let mut body = format!("9{org_type}{}", REGIONS[region].code);
            if rng.chance(0.65) {
                // Codes issued since 2015 start with MA.
                body.push_str("MA");
                for _ in 0..7 {
                    body.push(rng.pick(&alphabet));
                }
            } else {
                // An older organisation code: eight digits and its check character.
                for _ in 0..8 {
                    body.push(char::from(b'0' + rng.below(10) as u8));
                }
                body.push(if rng.chance(0.1) { 'X' } else { char::from(b'0' + rng.below(10) as u8) });
            }
            let uscc = Uscc::from_parts(&body).with_context(|| format!("building a USCC from {body}"))?;
            if codes.insert(uscc.as_str().to_owned()) {
                break uscc;
            }
        };
        let (industry, staff) = match org_type {
            1 => {
                let staff = match rng.weighted(&[70.0, 25.0, 5.0]) {
                    0 => rng.range(3, 20),
                    1 => rng.range(21, 300),
                    _ => rng.range(301, 3000),
                };
                (rng.weighted(&INDUSTRY_WEIGHTS), staff)
            }
            2 => (usize::MAX, rng.range(1, 8)),
            _ => (I_FOOD, rng.range(5, 60)),
        };
        let mut attempt = 0;
        let (name, industry) = loop {
            attempt += 1;
            let brand = loop {
                let (a, b) = (rng.pick(&NAME_FIRST), rng.pick(&NAME_SECOND));
                if a != b {
                    break format!("{a}{b}");
                }
            };
            let district = REGIONS[region].name;
            let (name, industry) = match org_type {
                1 => {
                    let place = if rng.chance(0.85) { "淄博" } else { "山东" };
                    (format!("{place}{brand}{}", rng.pick(INDUSTRIES[industry].forms)), industry)
                }
                2 => {
                    let (ending, industry) = rng.pick(&SHOPS);
                    (format!("{district}{brand}{ending}"), industry)
                }
                _ => (format!("{district}{brand}{}专业合作社", rng.pick(&COOPS)), industry),
            };
            // Names are unique while the name space allows; then a repeat is accepted.
            if names.insert(name.clone()) || attempt >= 20 {
                break (name, industry);
            }
        };
        firms.push(Firm {
            uscc,
            name,
            region,
            org_type,
            industry,
            staff: staff as u32,
            discloses: rng.chance(0.75),
            class,
            report_years: 0,
            tax_years: 0,
        });
    }
    Ok(firms)
}

// ---------------------------------------------------------------------------------------------
// Catalogues of what departments write.

#[derive(Debug, Clone, Copy)]
struct Violation {
    kind: &'static str,
    text: &'static str,
    basis: &'static str,
    /// Least severity (0 minor, 1 ordinary, 2 serious) the violation is punished with.
    min: u8,
}

const fn v(kind: &'static str, text: &'static str, basis: &'static str, min: u8) -> Violation {
    Violation { kind, text, basis, min }
}

fn violations(dept: usize) -> &'static [Violation] {
    const AMR_V: &[Violation] = &[
        v(
            "虚假广告",
            "在经营场所及网店发布含有虚假或者引人误解内容的商品宣传广告",
            "《中华人民共和国广告法》第五十五条第一款",
            0,
        ),
        v(
            "经营超过保质期的食品",
            "在经营场所销售超过保质期的预包装食品",
            "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
            0,
        ),
        v("未按规定明码标价", "销售商品未按照规定明码标价", "《明码标价和禁止价格欺诈规定》第二十一条", 0),
        v(
            "使用未经检定的计量器具",
            "使用未按照规定申请检定的电子计价秤",
            "《中华人民共和国计量法实施细则》第四十三条",
            0,
        ),
        v(
            "特种设备未按规定定期检验",
            "使用未经定期检验的特种设备",
            "《中华人民共和国特种设备安全法》第八十四条第（一）项",
            1,
        ),
        v("销售不合格产品", "生产、销售经监督抽查判定为不合格的产品", "《中华人民共和国产品质量法》第四十九条", 1),
        v(
            "生产经营不符合食品安全标准的食品",
            "生产经营微生物指标不符合食品安全标准的食品",
            "《中华人民共和国食品安全法》第一百二十四条第一款第（一）项",
            2,
        ),
    ];
    const TAX_V: &[Violation] = &[
        v(
            "未按期办理纳税申报",
            "未按照规定期限办理纳税申报和报送纳税资料",
            "《中华人民共和国税收征收管理法》第六十二条",
            0,
        ),
        v("未按规定开具发票", "销售货物未按规定开具发票", "《中华人民共和国发票管理办法》第三十五条第（一）项", 0),
        v("偷税", "在账簿上多列支出、少列收入，少缴应纳税款", "《中华人民共和国税收征收管理法》第六十三条第一款", 1),
        v(
            "虚开增值税专用发票",
            "让他人为自己开具与实际经营业务情况不符的增值税专用发票",
            "《中华人民共和国发票管理办法》第三十七条",
            2,
        ),
    ];
    const HRSS_V: &[Violation] = &[
        v(
            "未按规定建立职工名册",
            "未按规定建立职工名册并保存备查",
            "《中华人民共和国劳动合同法实施条例》第三十三条",
            0,
        ),
        v("违法延长劳动者工作时间", "安排劳动者延长工作时间超过法定上限", "《劳动保障监察条例》第二十五条", 0),
        v(
            "未按规定缴纳社会保险费",
            "未按时足额缴纳社会保险费，经责令限期缴纳逾期仍不缴纳",
            "《中华人民共和国社会保险法》第八十六条",
            1,
        ),
        v("拖欠农民工工资", "无故拖欠农民工工资，经责令限期支付逾期未支付", "《保障农民工工资支付条例》第五十四条", 1),
    ];
    const EEB_V: &[Violation] = &[
        v(
            "未按规定贮存危险废物",
            "危险废物露天堆放，未采取防扬散、防流失、防渗漏措施",
            "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第（六）项",
            0,
        ),
        v(
            "未按规定开展自行监测",
            "未按照排污许可证规定开展自行监测并保存原始监测记录",
            "《排污许可管理条例》第三十六条",
            0,
        ),
        v(
            "超标排放大气污染物",
            "颗粒物、氮氧化物排放浓度超过国家和地方规定的排放标准",
            "《中华人民共和国大气污染防治法》第九十九条第（二）项",
            1,
        ),
        v("无证排污", "未依法取得排污许可证排放污染物", "《排污许可管理条例》第三十三条第（一）项", 1),
        v(
            "通过暗管逃避监管排放污染物",
            "通过暗管排放未经处理的生产废水",
            "《中华人民共和国水污染防治法》第八十三条第（三）项",
            2,
        ),
    ];
    const EMB_V: &[Violation] = &[
        v(
            "未按规定开展安全生产教育和培训",
            "未对从业人员进行安全生产教育和培训并如实记录",
            "《中华人民共和国安全生产法》第九十七条第（三）项",
            0,
        ),
        v(
            "特种作业人员未持证上岗",
            "特种作业人员未经专门的安全作业培训并取得相应资格即上岗作业",
            "《中华人民共和国安全生产法》第九十七条第（七）项",
            0,
        ),
        v(
            "未采取措施消除事故隐患",
            "对检查发现的重大事故隐患未及时采取措施消除",
            "《中华人民共和国安全生产法》第一百零二条",
            1,
        ),
        v(
            "对生产安全事故负有责任",
            "对发生的一般生产安全事故负有责任",
            "《中华人民共和国安全生产法》第一百一十四条第一款第（一）项",
            1,
        ),
    ];
    match dept {
        AMR => AMR_V,
        TAX => TAX_V,
        HRSS => HRSS_V,
        EEB => EEB_V,
        _ => EMB_V,
    }
}

#[derive(Debug)]
struct Task {
    dept: usize,
    name: &'static str,
    items: &'static [&'static str],
    findings: &'static [&'static str],
}

const TASKS: [Task; 8] = [
    Task {
        dept: AMR,
        name: "企业公示信息抽查",
        items: &["年度报告公示信息", "即时公示信息", "登记的住所（经营场所）", "登记事项"],
        findings: &["年度报告中从业人数与实际不符", "即时公示的股东出资信息未及时更新", "实际经营场所与登记住所不一致"],
    },
    Task {
        dept: AMR,
        name: "食品经营者监督检查",
        items: &["食品经营许可证悬挂及有效期", "进货查验和查验记录", "食品贮存条件", "从业人员健康证明"],
        findings: &["进货查验记录不全", "部分从业人员健康证明过期", "冷藏设施温度记录缺失"],
    },
    Task {
        dept: AMR,
        name: "特种设备使用单位监督检查",
        items: &["特种设备使用登记", "定期检验情况", "安全管理人员和作业人员持证", "维护保养记录"],
        findings: &["叉车定期检验过期", "作业人员证书过期", "维护保养记录不完整"],
    },
    Task {
        dept: AMR,
        name: "产品质量监督抽查",
        items: &["产品标识标注", "执行标准", "出厂检验记录"],
        findings: &["产品标识未标注执行标准", "出厂检验记录不完整"],
    },
    Task {
        dept: AMR,
        name: "药品经营质量管理检查",
        items: &["药品购进记录", "处方药销售管理", "药品储存养护", "执业药师在岗"],
        findings: &["处方药未凭处方销售", "药品养护记录不全"],
    },
    Task {
        dept: EEB,
        name: "排污单位双随机执法检查",
        items: &["排污许可证执行情况", "污染防治设施运行", "自动监测数据", "危险废物规范化管理"],
        findings: &["危险废物标识不规范", "自行监测频次不足", "除尘设施运行记录缺失"],
    },
    Task {
        dept: EMB,
        name: "安全生产执法检查",
        items: &["安全生产责任制落实", "事故隐患排查治理", "安全教育培训", "特种作业人员持证", "应急预案及演练"],
        findings: &["未建立事故隐患排查治理台账", "应急演练记录缺失", "部分特种作业人员证书过期"],
    },
    Task {
        dept: HRSS,
        name: "劳动保障监察专项检查",
        items: &["劳动合同签订", "工资支付", "社会保险参保缴费", "工作时间和休息休假"],
        findings: &["部分职工未签订书面劳动合同", "工资支付台账不全", "未按时足额缴纳社会保险费"],
    },
];

// ---------------------------------------------------------------------------------------------
// Events: what happens to a firm, each giving one to three records.

#[derive(Debug, Clone, Copy)]
enum Event {
    Licence,
    AnnualReport,
    Inspection,
    TaxGrade,
    Penalty,
    Abnormal,
    Serious,
    Commendation,
    RedList,
    BlackList,
    Commitment,
    Complaint,
    Judgment,
    Arrears,
    Environment,
    Accident,
}

/// Relative frequency of each event for a firm of class A, B, C, D. Environmental violations
/// and accidents happen only to industrial firms.
const EVENTS: [(Event, [f64; 4]); 16] = [
    (Event::Licence, [20.0, 16.0, 10.0, 6.0]),
    (Event::AnnualReport, [18.0, 16.0, 12.0, 8.0]),
    (Event::Inspection, [10.0, 14.0, 16.0, 14.0]),
    (Event::TaxGrade, [14.0, 12.0, 8.0, 6.0]),
    (Event::Penalty, [0.6, 5.0, 12.0, 14.0]),
    (Event::Abnormal, [0.1, 1.5, 6.0, 8.0]),
    (Event::Serious, [0.0, 0.0, 0.1, 6.0]),
    (Event::Commendation, [3.0, 0.5, 0.0, 0.0]),
    (Event::RedList, [2.0, 0.3, 0.0, 0.0]),
    (Event::BlackList, [0.0, 0.05, 0.4, 6.0]),
    (Event::Commitment, [6.0, 6.0, 4.0, 2.0]),
    (Event::Complaint, [1.0, 3.0, 5.0, 6.0]),
    (Event::Judgment, [0.5, 2.0, 4.0, 6.0]),
    (Event::Arrears, [0.2, 2.0, 4.0, 5.0]),
    (Event::Environment, [0.2, 1.5, 4.0, 5.0]),
    (Event::Accident, [0.05, 0.3, 1.0, 3.0]),
];

/// How a record's reference (document number) is written once records are in date order.
#[derive(Debug, Clone)]
enum RefStyle {
    /// `PREFIX〔YEAR〕N号`, numbered per prefix and year.
    Doc(String),
    /// `（YEAR）PREFIXN号`, a court case number.
    Case(String),
    /// `PREFIXYYYYMMDDNNNN`, a hotline ticket numbered per day.
    Ticket(&'static str),
    /// Given as it is.
    Fixed(String),
}

/// A record before references are numbered.
#[derive(Debug)]
struct Pending {
    firm: usize,
    dept: usize,
    day: i64,
    reference: RefStyle,
    fields: RecordFields,
    /// An earlier record whose reference this record's fields cite.
    link: Option<usize>,
}

struct Generator {
    rng: Rng,
    firms: Vec<Firm>,
    first: i64,
    last: i64,
    out: Vec<Pending>,
}

fn day_of(y: u32, m: u32, d: u32) -> i64 {
    Date::new(y, m, d).expect("a valid calendar date").days_since_epoch()
}

fn date(day: i64) -> Date {
    Date::from_days(day).expect("simulated dates are in range")
}

fn severity_of(i: usize) -> r::Severity {
    [r::Severity::Minor, r::Severity::Ordinary, r::Severity::Serious][i]
}

impl Generator {
    fn class(&self, f: usize) -> usize {
        self.firms[f].class.index()
    }

    fn region(&self, f: usize) -> &'static Region {
        &REGIONS[self.firms[f].region]
    }

    fn industry(&self, f: usize) -> &'static Industry {
        &INDUSTRIES[self.firms[f].industry]
    }

    fn any_day(&mut self) -> i64 {
        self.rng.between(self.first, self.last)
    }

    fn push(&mut self, firm: usize, dept: usize, day: i64, reference: RefStyle, fields: RecordFields) -> usize {
        debug_assert!(day >= self.first && day <= self.last);
        self.out.push(Pending { firm, dept, day, reference, fields, link: None });
        self.out.len() - 1
    }

    fn event(&mut self, f: usize) {
        let c = self.class(f);
        let industrial = self.industry(f).industrial;
        let mut weights: Vec<f64> = EVENTS
            .iter()
            .map(|(e, w)| if !industrial && matches!(e, Event::Environment | Event::Accident) { 0.0 } else { w[c] })
            .collect();
        loop {
            let i = self.rng.weighted(&weights);
            let done = match EVENTS[i].0 {
                // A firm files one report and gets one grade a year; once all its years are
                // taken, something else happens to it.
                Event::AnnualReport => self.annual_report(f),
                Event::TaxGrade => self.tax_grade(f),
                other => {
                    self.happen(f, other);
                    true
                }
            };
            if done {
                return;
            }
            weights[i] = 0.0;
        }
    }

    /// An event that can always happen.
    fn happen(&mut self, f: usize, event: Event) {
        match event {
            Event::Licence => self.licence(f),
            Event::Inspection => self.inspection(f),
            Event::Penalty => {
                self.penalty(f, PenaltySpec::default());
            }
            Event::Abnormal => self.abnormal(f),
            Event::Serious => self.serious(f),
            Event::Commendation => self.commendation(f),
            Event::RedList => self.red_list(f),
            Event::BlackList => self.black_list(f),
            Event::Commitment => self.commitment(f),
            Event::Complaint => self.complaint(f),
            Event::Judgment => {
                let day = self.any_day();
                self.judgment(f, day, None);
            }
            Event::Arrears => {
                let day = self.any_day();
                self.arrears(f, day, None);
            }
            Event::Environment => self.environment(f),
            Event::Accident => self.accident(f),
            Event::AnnualReport | Event::TaxGrade => unreachable!("handled by event()"),
        }
    }

    fn licence(&mut self, f: usize) {
        let li = self.rng.pick(self.industry(f).licences);
        let lic = &LICENCES[li];
        let day = self.any_day();
        let d = date(day);
        let valid_until =
            (lic.years > 0).then(|| date(d.add_months(12 * lic.years).expect("in range").days_since_epoch() - 1));
        let firm = &self.firms[f];
        let region = REGIONS[firm.region].code;
        let seq = f + 1;
        let year = d.year();
        let number = match li {
            L_FOOD_SELL => format!("JY{}{region}{:07}", if firm.org_type == 2 { 2 } else { 1 }, seq % 10_000_000),
            L_FOOD_MAKE => format!("SC101{region}{:04}{}", seq % 10_000, seq % 7),
            L_DRUG => format!("鲁CA533{:04}", seq % 10_000),
            L_SE_USE => format!("鲁C特{:06}", seq % 1_000_000),
            L_SE_MAKE => format!("TS2237{:03}-{}", seq % 1000, valid_until.map_or(year, |u| u.year())),
            L_SAFETY => format!("（鲁）WH安许证字〔{year}〕{:06}", seq % 1_000_000),
            L_HAZCHEM => format!("鲁淄危化经字〔{year}〕{:06}", seq % 1_000_000),
            _ => format!("{}001P", firm.uscc.as_str()),
        };
        let fields = RecordFields::AdministrativeLicence(r::AdministrativeLicence {
            licence_name: lic.name.to_owned(),
            licence_number: number,
            valid_from: d,
            valid_until,
            scope: Some(self.rng.pick(lic.scopes).to_owned()),
        });
        let prefix = doc_prefix(lic.dept, self.region(f), "许");
        self.push(f, lic.dept, day, RefStyle::Doc(prefix), fields);
    }

    /// A report year not yet used by the firm, marked used; `None` when all are.
    fn free_year(&mut self, f: usize, tax: bool) -> Option<u32> {
        let used = if tax { self.firms[f].tax_years } else { self.firms[f].report_years };
        let free: Vec<usize> = (0..YEARS.len()).filter(|i| used & (1 << i) == 0).collect();
        if free.is_empty() {
            return None;
        }
        let i = self.rng.pick(&free);
        let firm = &mut self.firms[f];
        if tax {
            firm.tax_years |= 1 << i;
        } else {
            firm.report_years |= 1 << i;
        }
        Some(YEARS[i])
    }

    /// An annual report for a year the firm has none for; `false` if it has all.
    fn annual_report(&mut self, f: usize) -> bool {
        let Some(year) = self.free_year(f, false) else {
            return false;
        };
        let c = self.class(f);
        let on_time = self.rng.chance([0.98, 0.9, 0.6, 0.35][c]);
        let day = if on_time {
            self.rng.between(day_of(year + 1, 1, 1), day_of(year + 1, 6, 30))
        } else {
            self.rng.between(day_of(year + 1, 7, 1), day_of(year + 1, 12, 31).min(self.last))
        };
        self.annual_report_on(f, year, day, on_time);
        true
    }

    fn annual_report_on(&mut self, f: usize, year: u32, day: i64, on_time: bool) {
        let c = self.class(f);
        let status =
            match self.rng.weighted(&[[1.0, 0.0, 0.0], [0.99, 0.01, 0.0], [0.96, 0.03, 0.01], [0.88, 0.09, 0.03]][c]) {
                0 => r::OperatingStatus::Operating,
                1 => r::OperatingStatus::Dormant,
                _ => r::OperatingStatus::Liquidating,
            };
        let firm = &self.firms[f];
        let base = u64::from(firm.staff);
        let staff = (base * self.rng.range(90, 110) / 100).max(1);
        let (assets, revenue, tax) = if firm.discloses {
            let assets = staff * self.rng.yuan(100_000, 800_000, 1000);
            let revenue = staff * self.rng.yuan(50_000, 600_000, 1000);
            let tax = revenue / 100 * self.rng.range(1, 6);
            (Some(assets), Some(revenue), Some(tax))
        } else {
            (None, None, None)
        };
        let fields = RecordFields::AnnualReport(r::AnnualReport {
            report_year: year as u16,
            status,
            staff: staff as u32,
            assets_fen: assets,
            revenue_fen: revenue,
            tax_fen: tax,
            on_time,
        });
        self.push(f, AMR, day, RefStyle::Fixed(format!("{year}年度报告")), fields);
    }

    fn inspection(&mut self, f: usize) {
        let c = self.class(f);
        let ind = self.firms[f].industry;
        let industrial = self.industry(f).industrial;
        // Which department inspects.
        let dept = if industrial {
            [AMR, EEB, EMB, HRSS][self.rng.weighted(&[0.6, 0.15, 0.15, 0.1])]
        } else {
            [AMR, HRSS][self.rng.weighted(&[0.85, 0.15])]
        };
        let task = match dept {
            AMR => {
                let mut options = vec![0];
                if matches!(ind, I_FOOD | I_CATERING | I_TRADE) {
                    options.push(1);
                }
                if industrial || matches!(ind, I_TRADE | I_LOGISTICS) {
                    options.push(2);
                }
                if industrial || ind == I_FOOD {
                    options.push(3);
                }
                if ind == I_PHARMACY {
                    options.push(4);
                }
                self.rng.pick(&options)
            }
            EEB => 5,
            EMB => 6,
            _ => 7,
        };
        let task = &TASKS[task];
        let day = self.any_day();
        let year = date(day).year();
        let outcomes = [
            r::InspectionOutcome::NoIssue,
            r::InspectionOutcome::Corrected,
            r::InspectionOutcome::IssuesFound,
            r::InspectionOutcome::NotFoundAtAddress,
            r::InspectionOutcome::Refused,
            r::InspectionOutcome::NoRelevantActivity,
        ];
        let weights = [
            [0.90, 0.05, 0.005, 0.005, 0.0, 0.04],
            [0.72, 0.20, 0.04, 0.02, 0.0, 0.02],
            [0.42, 0.30, 0.16, 0.08, 0.02, 0.02],
            [0.15, 0.25, 0.30, 0.15, 0.12, 0.03],
        ][c];
        let result = outcomes[self.rng.weighted(&weights)];
        let findings = match result {
            r::InspectionOutcome::Corrected => {
                Some(format!("{}，已当场责令改正并复查合格", self.rng.pick(task.findings)))
            }
            r::InspectionOutcome::IssuesFound => {
                Some(format!("{}，已责令限期整改，待后续处理", self.rng.pick(task.findings)))
            }
            r::InspectionOutcome::Refused => Some("检查人员到场后，企业拒绝提供相关资料，不配合检查".to_owned()),
            _ => None,
        };
        let fields = RecordFields::InspectionResult(r::InspectionResult {
            task: format!("{year}年度{}", task.name),
            items: task.items.iter().map(|s| (*s).to_owned()).collect(),
            inspector_count: [2, 2, 2, 2, 3, 3, 4][self.rng.below(7) as usize],
            draw_index: None,
            result,
            findings,
        });
        let prefix = doc_prefix(task.dept, self.region(f), "检");
        self.push(f, task.dept, day, RefStyle::Doc(prefix), fields);
    }

    /// A tax credit grade for a year the firm has none for; `false` if it has all.
    fn tax_grade(&mut self, f: usize) -> bool {
        let Some(year) = self.free_year(f, true) else {
            return false;
        };
        let c = self.class(f);
        let grades = [r::TaxGrade::A, r::TaxGrade::B, r::TaxGrade::C, r::TaxGrade::D, r::TaxGrade::M];
        let weights = [
            [0.60, 0.37, 0.0, 0.0, 0.03],
            [0.20, 0.65, 0.13, 0.0, 0.02],
            [0.0, 0.35, 0.58, 0.07, 0.0],
            [0.0, 0.05, 0.35, 0.60, 0.0],
        ][c];
        let grade = grades[self.rng.weighted(&weights)];
        let score = match grade {
            r::TaxGrade::A => Some(self.rng.range(90, 100)),
            r::TaxGrade::B => Some(self.rng.range(70, 89)),
            r::TaxGrade::C => Some(self.rng.range(40, 69)),
            // A D grade is often given directly (serious violations), without a score.
            r::TaxGrade::D => self.rng.chance(0.7).then(|| self.rng.range(0, 39)),
            r::TaxGrade::M => None,
        };
        let day = self.rng.between(day_of(year + 1, 4, 1), day_of(year + 1, 4, 30));
        let fields = RecordFields::TaxCreditGrade(r::TaxCreditGrade {
            tax_year: year as u16,
            grade,
            score: score.map(|s| s as u8),
        });
        let prefix = doc_prefix(TAX, self.region(f), "信评");
        self.push(f, TAX, day, RefStyle::Doc(prefix), fields);
        true
    }

    fn penalty(&mut self, f: usize, spec: PenaltySpec) -> usize {
        let c = self.class(f);
        let severity = spec.severity.unwrap_or_else(|| {
            self.rng.weighted(&[[1.0, 0.0, 0.0], [0.7, 0.3, 0.0], [0.3, 0.66, 0.04], [0.05, 0.45, 0.5]][c])
        });
        let industrial = self.industry(f).industrial;
        let dept = spec.dept.unwrap_or_else(|| {
            if industrial {
                [AMR, TAX, HRSS, EEB, EMB][self.rng.weighted(&[0.5, 0.15, 0.1, 0.13, 0.12])]
            } else {
                [AMR, TAX, HRSS][self.rng.weighted(&[0.7, 0.18, 0.12])]
            }
        });
        let violation = spec.violation.unwrap_or_else(|| {
            let options: Vec<Violation> =
                violations(dept).iter().copied().filter(|v| usize::from(v.min) <= severity).collect();
            self.rng.pick(&options)
        });
        let severity = severity.max(usize::from(violation.min));
        let day = spec.day.unwrap_or_else(|| self.any_day());
        use r::PenaltyType as P;
        let (penalties, fine, confiscated, months) = match severity {
            0 => {
                if self.rng.chance(0.55) {
                    (vec![P::Warning], 0, None, 3)
                } else {
                    let fine = self.rng.yuan(500, 5000, 100);
                    (if self.rng.chance(0.5) { vec![P::Warning, P::Fine] } else { vec![P::Fine] }, fine, None, 3)
                }
            }
            1 => {
                let fine = self.rng.yuan(5000, 100_000, 500);
                match self.rng.weighted(&[0.5, 0.25, 0.25]) {
                    0 => (vec![P::Fine], fine, None, 12),
                    1 => (vec![P::Warning, P::Fine], fine, None, 12),
                    _ => {
                        let gains = self.rng.yuan(1000, 50_000, 100);
                        (vec![P::Fine, P::ConfiscationOfIllegalGains], fine, Some(gains), 12)
                    }
                }
            }
            _ => {
                let fine = self.rng.yuan(100_000, 2_000_000, 10_000);
                let mut p = vec![P::Fine];
                let mut confiscated = None;
                if self.rng.chance(0.4) {
                    p.push(P::ConfiscationOfIllegalGains);
                    confiscated = Some(self.rng.yuan(50_000, 500_000, 1000));
                }
                if self.rng.chance(0.2) {
                    p.push(P::OrderedToSuspend);
                } else if self.rng.chance(0.1) {
                    p.push(P::LicenceRevoked);
                }
                (p, fine, confiscated, 36)
            }
        };
        let fields = RecordFields::AdministrativePenalty(r::AdministrativePenalty {
            violation_type: violation.kind.to_owned(),
            violation: violation.text.to_owned(),
            penalties,
            fine_amount_fen: fine,
            confiscated_amount_fen: confiscated,
            severity: severity_of(severity),
            publicity_months: months,
            legal_basis: Some(violation.basis.to_owned()),
        });
        let what = if dept == HRSS { "监罚" } else { "罚" };
        let prefix = doc_prefix(dept, self.region(f), what);
        self.push(f, dept, day, RefStyle::Doc(prefix), fields)
    }

    fn abnormal(&mut self, f: usize) {
        let c = self.class(f);
        use r::AbnormalReason as A;
        let reason = [A::NoAnnualReport, A::UnreachableAtAddress, A::NoInstantDisclosure, A::FalseDisclosure]
            [self.rng.weighted(&[0.7, 0.2, 0.05, 0.05])];
        let day = if reason == A::NoAnnualReport {
            let year = self.rng.pick(&[2024, 2025, 2026]);
            self.rng.between(day_of(year, 7, 1), day_of(year, 7, 31))
        } else {
            self.any_day()
        };
        let basis = match reason {
            A::NoAnnualReport => "未按照规定期限公示年度报告，依据《企业经营异常名录管理暂行办法》第六条列入",
            A::NoInstantDisclosure => {
                "未在市场监督管理部门责令的期限内公示有关企业信息，依据《企业经营异常名录管理暂行办法》第七条列入"
            }
            A::FalseDisclosure => "公示企业信息隐瞒真实情况、弄虚作假，依据《企业经营异常名录管理暂行办法》第八条列入",
            A::UnreachableAtAddress => {
                "通过登记的住所或者经营场所无法联系，依据《企业经营异常名录管理暂行办法》第九条列入"
            }
        };
        let fields = RecordFields::AbnormalOperationsListing(r::AbnormalOperationsListing {
            reason,
            basis: Some(basis.to_owned()),
        });
        let prefix = doc_prefix(AMR, self.region(f), "异列");
        self.push(f, AMR, day, RefStyle::Doc(prefix), fields);
        if !self.rng.chance([0.9, 0.8, 0.6, 0.4][c]) {
            return;
        }
        let removal = day + self.rng.between(15, 300);
        if removal > self.last {
            return;
        }
        let listing_year = date(day).year();
        let report_year = u32::from(listing_year) - 1;
        if reason == A::NoAnnualReport {
            // Cured by filing the missing report, late, just before the removal.
            let i = YEARS.iter().position(|y| *y == report_year);
            if let Some(i) = i.filter(|i| self.firms[f].report_years & (1 << i) == 0) {
                self.firms[f].report_years |= 1 << i;
                let filed = removal - self.rng.between(0, 10).min(removal - day - 1);
                self.annual_report_on(f, report_year, filed, false);
            }
        }
        let ground =
            if self.rng.chance(0.95) { r::RemovalGround::CauseCured } else { r::RemovalGround::CreditRepaired };
        let fields = RecordFields::AbnormalOperationsRemoval(r::ListRemoval {
            listing_date: date(day),
            listing_index: None,
            ground,
        });
        let prefix = doc_prefix(AMR, self.region(f), "异移");
        self.push(f, AMR, removal, RefStyle::Doc(prefix), fields);
    }

    fn serious(&mut self, f: usize) {
        let (day, fields, link) = if self.rng.chance(0.8) {
            let penalty_day = self.rng.between(self.first, self.last - 60);
            let p = self.penalty(
                f,
                PenaltySpec { dept: Some(AMR), severity: Some(2), day: Some(penalty_day), violation: None },
            );
            let RecordFields::AdministrativePenalty(pen) = &self.out[p].fields else { unreachable!("a penalty") };
            let grounds = format!("{}，受到较重行政处罚，属于严重违法失信行为", pen.violation);
            let day = penalty_day + self.rng.between(10, 60);
            let fields = r::SeriousDishonestyListing {
                grounds,
                basis: "《市场监督管理严重违法失信名单管理办法》第二条、第十一条".to_owned(),
                publicity_months: 36,
                penalty_reference: None,
            };
            (day, fields, Some(p))
        } else {
            let fields = r::SeriousDishonestyListing {
                grounds: "被列入经营异常名录届满3年仍未依法履行相关义务".to_owned(),
                basis: "《市场监督管理严重违法失信名单管理办法》第十三条".to_owned(),
                publicity_months: 36,
                penalty_reference: None,
            };
            (self.any_day(), fields, None)
        };
        let prefix = doc_prefix(AMR, self.region(f), "严列");
        let i = self.push(f, AMR, day, RefStyle::Doc(prefix), RecordFields::SeriousDishonestyListing(fields));
        self.out[i].link = link;
        if self.rng.chance(0.25) {
            // Early removal after credit repair: at least a year later.
            let removal = day + self.rng.between(366, 700);
            if removal <= self.last {
                let fields = RecordFields::SeriousDishonestyRemoval(r::ListRemoval {
                    listing_date: date(day),
                    listing_index: None,
                    ground: r::RemovalGround::CreditRepaired,
                });
                let prefix = doc_prefix(AMR, self.region(f), "严移");
                self.push(f, AMR, removal, RefStyle::Doc(prefix), fields);
            }
        }
    }

    fn commendation(&mut self, f: usize) {
        use r::Level as L;
        let level = [L::National, L::Provincial, L::Municipal][self.rng.weighted(&[0.05, 0.25, 0.7])];
        let title = match level {
            L::National => self.rng.pick(&["全国守合同重信用企业", "全国模范劳动关系和谐企业"]),
            L::Provincial => self.rng.pick(&["山东省诚信企业", "山东省劳动关系和谐企业", "山东省“专精特新”中小企业"]),
            _ => self.rng.pick(&[
                "淄博市诚信示范企业",
                "淄博市守合同重信用企业",
                "淄博市优秀民营企业",
                "淄博市劳动关系和谐企业",
            ]),
        };
        let day = self.any_day();
        let valid_until = match self.rng.below(3) {
            0 => None,
            k => Some(date(day).add_months(12 * (k as u32 + 1)).expect("in range")),
        };
        let fields = RecordFields::Commendation(r::Commendation { title: title.to_owned(), level, valid_until });
        self.push(f, DRC, day, RefStyle::Doc("淄政字".to_owned()), fields);
    }

    fn red_list(&mut self, f: usize) {
        if self.rng.chance(0.5) {
            let year = self.rng.pick(&YEARS);
            let day = self.rng.between(day_of(year + 1, 4, 1), day_of(year + 1, 4, 30));
            let fields = RecordFields::RedList(r::CreditListEntry {
                list: "纳税信用A级纳税人名单".to_owned(),
                basis: format!("{year}年度纳税信用评价为A级，依据《纳税信用管理办法》第二十九条实施激励措施"),
                valid_until: Some(date(day_of(year + 1, 12, 31))),
            });
            let prefix = doc_prefix(TAX, self.region(f), "信A");
            self.push(f, TAX, day, RefStyle::Doc(prefix), fields);
        } else {
            let day = self.any_day();
            let fields = RecordFields::RedList(r::CreditListEntry {
                list: "淄博市守信激励对象名单".to_owned(),
                basis: "经部门推荐、信用审查和社会公示，列入市级守信激励对象名单".to_owned(),
                valid_until: Some(date(day).add_months(24).expect("in range")),
            });
            self.push(f, DRC, day, RefStyle::Doc("淄信用红".to_owned()), fields);
        }
    }

    fn black_list(&mut self, f: usize) {
        let industrial = self.industry(f).industrial;
        let which = self.rng.weighted(&[0.45, 0.2, 0.2, if industrial { 0.15 } else { 0.0 }]);
        let before = self.rng.between(self.first, self.last - 20);
        // First what puts the firm on the list, then the listing.
        let dept = [COURT, TAX, HRSS, EMB][which];
        match dept {
            COURT => self.judgment(f, before, Some((r::JudgmentStage::Enforcement, false))),
            HRSS => self.arrears(f, before, Some(false)),
            _ => {
                self.penalty(f, PenaltySpec { dept: Some(dept), severity: Some(2), day: Some(before), violation: None })
            }
        };
        let day = before + self.rng.between(20, 90);
        if day > self.last {
            return;
        }
        let (list, basis, years, reference) = match dept {
            COURT => (
                "失信被执行人名单",
                "有履行能力而拒不履行生效法律文书确定的义务，依据《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条纳入",
                2,
                RefStyle::Case(format!("鲁{}执", &self.region(f).code[2..])),
            ),
            TAX => (
                "重大税收违法失信主体名单",
                "依据《重大税收违法失信主体信息公布管理办法》第六条确定为重大税收违法失信主体",
                3,
                RefStyle::Doc(doc_prefix(TAX, self.region(f), "稽失信")),
            ),
            HRSS => (
                "拖欠农民工工资失信联合惩戒对象名单",
                "克扣、无故拖欠农民工工资达到认定拒不支付劳动报酬罪数额标准，依据《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》第五条列入",
                3,
                RefStyle::Doc(doc_prefix(HRSS, self.region(f), "失信")),
            ),
            _ => (
                "安全生产严重失信主体名单",
                "发生生产安全事故负有责任且受到较重行政处罚，依据《安全生产严重失信主体名单管理办法》第六条列入",
                3,
                RefStyle::Doc(doc_prefix(EMB, self.region(f), "失信")),
            ),
        };
        let fields = RecordFields::BlackList(r::CreditListEntry {
            list: list.to_owned(),
            basis: basis.to_owned(),
            valid_until: Some(date(day).add_months(12 * years).expect("in range")),
        });
        self.push(f, dept, day, reference, fields);
    }

    fn commitment(&mut self, f: usize) {
        let c = self.class(f);
        use r::CommitmentType as T;
        let (dept, kind) = if self.rng.chance(0.6) {
            (AMR, if self.rng.chance(0.7) { T::NoticeAndCommitment } else { T::Certification })
        } else {
            let k = match self.rng.weighted(&[0.4, 0.2, 0.4]) {
                0 => T::Voluntary,
                1 => T::IndustrySelfDiscipline,
                _ if c >= 2 => T::CreditRepair,
                _ => T::Voluntary,
            };
            (DRC, k)
        };
        let (content, months) = match kind {
            T::NoticeAndCommitment => (
                self.rng.pick(&[
                    "申请食品经营许可采用告知承诺方式，承诺已具备法定许可条件，所提交材料真实有效，并在三个月内接受现场核查",
                    "申请变更登记采用告知承诺方式，承诺在规定期限内补齐相关材料",
                ]),
                Some(3),
            ),
            T::Certification => (
                self.rng.pick(&[
                    "承诺所申报的住所（经营场所）真实有效，愿意承担不实承诺的法律责任",
                    "承诺所申报的从业人员无相关违法犯罪记录，愿意承担不实承诺的法律责任",
                ]),
                Some(1),
            ),
            T::Voluntary => ("公开承诺依法诚信经营，保障产品和服务质量，接受社会监督", None),
            T::IndustrySelfDiscipline => ("承诺遵守行业自律公约，不参与恶意低价竞争，不销售假冒伪劣产品", None),
            T::CreditRepair => ("承诺已履行行政处罚决定规定的义务，已纠正失信行为，今后不再发生同类违法行为", Some(12)),
        };
        let day = self.any_day();
        let due = months.map(|m| date(day).add_months(m).expect("in range"));
        let fields = RecordFields::CreditCommitment(r::CreditCommitment {
            commitment_type: kind,
            content: content.to_owned(),
            due,
        });
        let (ref_c, ref_o) = if dept == AMR {
            (doc_prefix(AMR, self.region(f), "承"), doc_prefix(AMR, self.region(f), "核"))
        } else {
            ("淄信用承".to_owned(), "淄信用核".to_owned())
        };
        let commitment = self.push(f, dept, day, RefStyle::Doc(ref_c), fields);
        if !self.rng.chance(0.7) {
            return;
        }
        let checked = match due {
            Some(d) => d.days_since_epoch() + self.rng.between(1, 30),
            None => day + self.rng.between(90, 365),
        };
        if checked > self.last {
            return;
        }
        let kept = self.rng.chance([0.99, 0.95, 0.75, 0.4][c]);
        let details = match (kept, kind) {
            (true, _) => "经核查，企业已按期履行承诺事项",
            (false, T::NoticeAndCommitment) => "经核查，企业未按期履行承诺事项，已依法撤销相关许可并记入信用记录",
            (false, _) => "经核查，企业未履行承诺事项，已记入信用记录",
        };
        let fields = RecordFields::CommitmentOutcome(r::CommitmentOutcome {
            commitment_reference: String::new(),
            commitment_index: None,
            kept,
            details: Some(details.to_owned()),
        });
        let i = self.push(f, dept, checked, RefStyle::Doc(ref_o), fields);
        self.out[i].link = Some(commitment);
    }

    fn complaint(&mut self, f: usize) {
        let c = self.class(f);
        let (dept, channel, ticket, topic) = if self.rng.chance(0.7) {
            let topic = self.rng.pick(&["噪声扰民", "环境污染", "拖欠工资", "物业服务", "消费纠纷", "食品安全"]);
            (HOTLINE, r::ComplaintChannel::Hotline12345, "ZB12345-", topic)
        } else {
            let topic = self.rng.pick(&["商品质量", "虚假宣传", "价格欺诈", "食品安全", "预付式消费"]);
            (AMR, r::ComplaintChannel::Hotline12315, "ZB12315-", topic)
        };
        let substantiated = self.rng.chance([0.3, 0.5, 0.7, 0.85][c]);
        let details = if substantiated {
            format!("经核实，群众反映的{topic}问题属实，已责令企业限期整改")
        } else {
            format!("经核实，群众反映的{topic}问题不属实，已向诉求人反馈")
        };
        let fields = RecordFields::VerifiedComplaint(r::VerifiedComplaint {
            channel,
            complaint_type: topic.to_owned(),
            substantiated,
            details: Some(details),
        });
        let day = self.any_day();
        self.push(f, dept, day, RefStyle::Ticket(ticket), fields);
    }

    /// A judgment or enforcement case; `given` fixes the stage and whether it was performed.
    fn judgment(&mut self, f: usize, day: i64, given: Option<(r::JudgmentStage, bool)>) -> usize {
        let c = self.class(f);
        let (stage, performed) = given.unwrap_or_else(|| {
            let stage = if self.rng.chance(0.6) { r::JudgmentStage::Judgment } else { r::JudgmentStage::Enforcement };
            (stage, self.rng.chance([0.95, 0.8, 0.55, 0.25][c]))
        });
        let amount =
            if c == 3 { self.rng.yuan(100_000, 5_000_000, 1000) } else { self.rng.yuan(20_000, 3_000_000, 1000) };
        let yuan = amount / 100;
        let obligation = match self.rng.below(4) {
            0 => format!("支付货款{yuan}元及逾期付款利息（买卖合同纠纷）"),
            1 => format!("偿还借款本金{yuan}元及利息（借款合同纠纷）"),
            2 => format!("支付拖欠的劳动报酬{yuan}元（劳动争议）"),
            _ => format!("支付工程款{yuan}元（建设工程施工合同纠纷）"),
        };
        let court = &self.region(f).code[2..];
        let reference = match stage {
            r::JudgmentStage::Judgment => RefStyle::Case(format!("鲁{court}民初")),
            r::JudgmentStage::Enforcement => RefStyle::Case(format!("鲁{court}执")),
        };
        let fields = RecordFields::Judgment(r::Judgment { stage, obligation, amount_fen: Some(amount), performed });
        self.push(f, COURT, day, reference, fields)
    }

    /// Social-security arrears noted on `day`; `settled` fixed if given.
    fn arrears(&mut self, f: usize, day: i64, settled: Option<bool>) -> usize {
        let c = self.class(f);
        let months = self.rng.range(1, if c <= 1 { 3 } else { 12 }) as u32;
        // The period ends with the month before (day − 15..60 days), and starts `months` earlier.
        let seen = date(day - self.rng.between(15, 60));
        let until = date(day_of(u32::from(seen.year()), u32::from(seen.month()), 1) - 1);
        let month_index = u32::from(until.year()) * 12 + u32::from(until.month()) - 1 - (months - 1);
        let from = Date::new(month_index / 12, month_index % 12 + 1, 1).expect("a valid date");
        let staff = u64::from(self.firms[f].staff);
        let employees = self.rng.range(1, staff.max(1));
        let amount = employees * u64::from(months) * self.rng.yuan(800, 1500, 10);
        let settled = settled.unwrap_or_else(|| self.rng.chance([1.0, 0.8, 0.5, 0.25][c]));
        let fields = RecordFields::SocialSecurityArrears(r::SocialSecurityArrears {
            period_from: from,
            period_until: until,
            amount_fen: amount,
            employees_affected: Some(employees as u32),
            settled,
        });
        let prefix = doc_prefix(HRSS, self.region(f), "监令");
        self.push(f, HRSS, day, RefStyle::Doc(prefix), fields)
    }

    fn environment(&mut self, f: usize) {
        let c = self.class(f);
        let severity = self.rng.weighted(&[[1.0, 0.0, 0.0], [0.7, 0.3, 0.0], [0.35, 0.6, 0.05], [0.1, 0.5, 0.4]][c]);
        let options: Vec<Violation> =
            violations(EEB).iter().copied().filter(|v| usize::from(v.min) <= severity).collect();
        let violation = self.rng.pick(&options);
        let severity = severity.max(usize::from(violation.min));
        let day = self.any_day();
        let fields = RecordFields::EnvironmentalViolation(r::EnvironmentalViolation {
            violation: violation.text.to_owned(),
            severity: severity_of(severity),
            rectified: self.rng.chance([1.0, 0.9, 0.7, 0.4][c]),
        });
        let prefix = doc_prefix(EEB, self.region(f), "监");
        self.push(f, EEB, day, RefStyle::Doc(prefix), fields);
        let decided = day + self.rng.between(15, 60);
        if self.rng.chance(0.6) && decided <= self.last {
            let spec = PenaltySpec {
                dept: Some(EEB),
                severity: Some(severity),
                day: Some(decided),
                violation: Some(violation),
            };
            self.penalty(f, spec);
        }
    }

    fn accident(&mut self, f: usize) {
        let c = self.class(f);
        let description = self.rng.pick(&[
            "车间作业人员在设备检修过程中被卷入传动部位，造成机械伤害事故",
            "叉车在厂区倒车时碰撞作业人员，造成车辆伤害事故",
            "作业人员在未系安全带的情况下进行高处作业，发生坠落事故",
            "储罐区管道法兰泄漏引发火灾事故",
            "作业人员未经检测进入有限空间作业，发生中毒窒息事故",
        ]);
        let (deaths, injuries, loss) = match c {
            0 | 1 => (0, self.rng.range(1, 2), self.rng.yuan(20_000, 500_000, 1000)),
            2 => (u64::from(self.rng.chance(0.2)), self.rng.range(1, 3), self.rng.yuan(50_000, 2_000_000, 1000)),
            _ if self.rng.chance(0.15) => {
                (self.rng.range(3, 5), self.rng.range(0, 6), self.rng.yuan(3_000_000, 15_000_000, 10_000))
            }
            _ => (self.rng.range(0, 2), self.rng.range(1, 5), self.rng.yuan(100_000, 3_000_000, 1000)),
        };
        // 生产安全事故报告和调查处理条例, art. 3 (this simulation stays below a major accident).
        let grade = if deaths >= 3 || injuries >= 10 || loss >= 1_000_000_000 {
            r::AccidentGrade::Larger
        } else {
            r::AccidentGrade::Ordinary
        };
        let day = self.any_day();
        let fields = RecordFields::WorkSafetyAccident(r::WorkSafetyAccident {
            description: description.to_owned(),
            grade,
            deaths: deaths as u32,
            serious_injuries: injuries as u32,
            direct_loss_fen: Some(loss),
        });
        let prefix = doc_prefix(EMB, self.region(f), "事调");
        self.push(f, EMB, day, RefStyle::Doc(prefix), fields);
        let decided = day + self.rng.between(30, 120);
        if self.rng.chance(0.7) && decided <= self.last {
            let responsible = violations(EMB)[3];
            let severity = if grade == r::AccidentGrade::Larger || deaths > 0 { 2 } else { 1 };
            let spec = PenaltySpec {
                dept: Some(EMB),
                severity: Some(severity),
                day: Some(decided),
                violation: Some(responsible),
            };
            self.penalty(f, spec);
        }
    }
}

/// What a caller fixes about a penalty; the rest is drawn.
#[derive(Debug, Default)]
struct PenaltySpec {
    dept: Option<usize>,
    /// 0 minor, 1 ordinary, 2 serious.
    severity: Option<usize>,
    day: Option<i64>,
    violation: Option<Violation>,
}

// ---------------------------------------------------------------------------------------------
// Putting it together.

/// One signed record, ready to write.
struct Built {
    dept: usize,
    kind: K,
    line: String,
    row: Vec<String>,
    firm: usize,
    /// The record, for the kinds the 双公示 exports hold.
    record: Option<Record>,
}

fn department_key(seed: u64, code: &str) -> SigningKey {
    let mut rng = Rng::derived(seed, &format!("creditlog simulate department key {code}"));
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    SigningKey::from_bytes(&bytes)
}

/// A CSV cell for a JSON value of a record.
fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items.iter().map(|i| cell(Some(i))).collect::<Vec<_>>().join(";"),
        Some(other) => other.to_string(),
    }
}

fn build(firms: &[Firm], keys: &[SigningKey], p: &Pending, reference: String) -> Result<Built> {
    let firm = &firms[p.firm];
    let dept = &DEPTS[p.dept];
    let record = Record::new(firm.uscc.clone(), dept.code, date(p.day), reference, p.fields.clone())
        .map_err(|e| anyhow::anyhow!("simulated a record that does not validate: {e} ({p:?})"))?;
    let kind = record.kind();
    ensure!(dept.kinds.contains(&kind), "department {} may not submit {kind}", dept.code);
    let payload = record.to_json_bytes();
    let reparsed = Record::parse(&payload).map_err(|e| anyhow::anyhow!("a simulated payload does not parse: {e}"))?;
    ensure!(reparsed == record, "a simulated record does not survive a round trip: {p:?}");
    let envelope = Envelope::sign(RECORD_TYPE, &payload, &keys[p.dept]);
    let line = serde_json::to_string(&envelope)?;
    let value = serde_json::to_value(&record)?;
    let fields = value.get("fields");
    let row = csv_columns(kind)
        .iter()
        .map(|col| match value.get(*col) {
            Some(v) if r::COMMON_COLUMNS.contains(col) => cell(Some(v)),
            _ => cell(fields.and_then(|f| f.get(*col))),
        })
        .collect();
    let exported = import::export::kind_columns(kind).is_some();
    Ok(Built { dept: p.dept, kind, line, row, firm: p.firm, record: exported.then_some(record) })
}

/// Numbers the references in date order and fills the fields that cite another record.
fn number_references(pending: &mut [Pending], order: &[usize]) -> Vec<String> {
    let mut counters: HashMap<(String, i64), u32> = HashMap::new();
    let mut refs = vec![String::new(); pending.len()];
    for &i in order {
        let p = &pending[i];
        let d = date(p.day);
        let year = i64::from(d.year());
        let mut next = |key: String, bucket: i64| {
            let n = counters.entry((key, bucket)).or_insert(0);
            *n += 1;
            *n
        };
        refs[i] = match &p.reference {
            RefStyle::Doc(prefix) => format!("{prefix}〔{year}〕{}号", next(prefix.clone(), year)),
            RefStyle::Case(prefix) => format!("（{year}）{prefix}{}号", next(prefix.clone(), year)),
            RefStyle::Ticket(prefix) => {
                let n = next((*prefix).to_owned(), p.day);
                format!("{prefix}{:04}{:02}{:02}{n:04}", d.year(), d.month(), d.day())
            }
            RefStyle::Fixed(text) => text.clone(),
        };
    }
    for p in pending.iter_mut() {
        if let Some(j) = p.link {
            let cited = refs[j].clone();
            match &mut p.fields {
                RecordFields::CommitmentOutcome(f) => f.commitment_reference = cited,
                RecordFields::SeriousDishonestyListing(f) => f.penalty_reference = Some(cited),
                _ => {}
            }
        }
    }
    refs
}

#[derive(Serialize)]
struct DeptFile<'a> {
    code: &'a str,
    name: &'a str,
    kinds: Vec<&'a str>,
    domains: &'a [&'a str],
    key_file: String,
    key_id: String,
    public_key: String,
}

fn prepare_out(dir: &Path) -> Result<()> {
    if dir.exists() {
        ensure!(dir.is_dir(), "{} exists and is not a folder", dir.display());
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: simulate writes into a new or empty folder (key files are never overwritten)",
                dir.display()
            );
        }
    }
    for sub in ["", "keys", "records", "csv"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Most data rows an Excel sheet holds (1,048,576 rows, one the header).
const XLSX_MAX_ROWS: usize = 1_048_575;

/// Writes each department's penalties and licences as 双公示 exports in both forms, then reads
/// every file back with the import and checks that it gives the very records simulated. Returns
/// the number of files written.
fn write_exports(out: &Path, firms: &[Firm], built: &[Built]) -> Result<usize> {
    std::fs::create_dir_all(out.join("exports"))?;
    let mut files = 0;
    for (d, dept) in DEPTS.iter().enumerate() {
        for &kind in dept.kinds {
            let Some(headers) = import::export::headers(kind) else { continue };
            let records: Vec<(&Record, usize)> = built
                .iter()
                .filter(|b| b.dept == d && b.kind == kind)
                .filter_map(|b| Some((b.record.as_ref()?, b.firm)))
                .collect();
            let rows: Vec<Vec<import::export::Cell>> = records
                .iter()
                .enumerate()
                .map(|(n, (r, f))| {
                    import::export::row(r, &firms[*f].name, dept.name, import::export::DateStyle::nth(n))
                        .context("an exported kind")
                })
                .collect::<Result<_>>()?;
            let base = format!("exports/{}__{}", dept.code, kind.as_str());
            let mut paths = vec![out.join(format!("{base}.gb18030.csv"))];
            import::export::write_csv_gb18030(&paths[0], &headers, &rows).map_err(anyhow::Error::msg)?;
            if rows.len() <= XLSX_MAX_ROWS {
                let sheet = kind.chinese_name();
                paths.push(out.join(format!("{base}.xlsx")));
                import::export::write_xlsx(&paths[1], sheet, &headers, &rows).map_err(anyhow::Error::msg)?;
            }
            for path in &paths {
                let (_, rows) = import::read_all(path, kind, dept.code, dept.name).map_err(anyhow::Error::msg)?;
                ensure!(
                    rows.len() == records.len(),
                    "{}: {} rows read back of {}",
                    path.display(),
                    rows.len(),
                    records.len()
                );
                for (got, (want, _)) in rows.iter().zip(&records) {
                    ensure!(
                        got.record == **want,
                        "{}: line {} does not import as the simulated record",
                        path.display(),
                        got.line
                    );
                }
                files += 1;
            }
        }
    }
    Ok(files)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let started = Instant::now();
    ensure!(args.firms > 0 || args.records == 0, "--records needs at least one firm (--firms)");
    ensure!(args.firms <= 10_000_000, "--firms is at most 10,000,000");
    prepare_out(&args.out)?;

    // Departments and their keys.
    let keys: Vec<SigningKey> = DEPTS.iter().map(|d| department_key(args.seed, d.code)).collect();

    // Firms, then events until there are enough records.
    let firms = make_firms(args.seed, args.firms)?;
    let mut tiers = Rng::derived(args.seed, "activity");
    let mut cumulative = Vec::with_capacity(firms.len());
    let mut total = 0u64;
    for firm in &firms {
        // A heavy tail: most firms are rarely in the records, a few very often.
        let tier = [1, 3, 8, 25, 80][tiers.weighted(&[0.60, 0.25, 0.10, 0.04, 0.01])];
        total += tier * Class::RECORD_WEIGHT[firm.class.index()];
        cumulative.push(total);
    }
    let mut g = Generator {
        rng: Rng::derived(args.seed, &format!("records {} {}", args.firms, args.records)),
        firms,
        first: day_of(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2),
        last: day_of(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2),
        out: Vec::with_capacity(args.records + 4),
    };
    while g.out.len() < args.records {
        let x = g.rng.below(total);
        let f = cumulative.partition_point(|c| *c <= x);
        g.event(f);
    }
    // The last event may give more records than asked for; its tail goes (a record only ever
    // cites an earlier one, so nothing cited is cut).
    g.out.truncate(args.records);
    let Generator { firms, out: mut pending, .. } = g;

    // Date order, then document numbers.
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|&i| (pending[i].day, i));
    let refs = number_references(&mut pending, &order);

    // Build, check and sign in parallel; the result keeps date order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    let chunk = order.len().div_ceil(threads).max(1);
    let built: Vec<Built> = std::thread::scope(|s| {
        let handles: Vec<_> = order
            .chunks(chunk)
            .map(|part| {
                let (firms, keys, pending, refs) = (&firms, &keys, &pending, &refs);
                s.spawn(move || {
                    part.iter().map(|&i| build(firms, keys, &pending[i], refs[i].clone())).collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(order.len());
        for h in handles {
            all.extend(h.join().map_err(|_| anyhow::anyhow!("a signing thread panicked"))??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;

    // Files.
    let out = &args.out;
    let mut written: Vec<String> = Vec::new();
    let mut dept_files = Vec::new();
    for (d, key) in DEPTS.iter().zip(&keys) {
        let key_file = format!("keys/{}.key", d.code);
        keyfile::write(&out.join(&key_file), key)?;
        dept_files.push(DeptFile {
            code: d.code,
            name: d.name,
            kinds: d.kinds.iter().map(|k| k.as_str()).collect(),
            domains: d.domains,
            key_file,
            key_id: key_id(&key.verifying_key()),
            public_key: keyfile::public_b64(key),
        });
    }
    let mut json = serde_json::to_vec_pretty(&dept_files)?;
    json.push(b'\n');
    write_file(&out.join("departments.json"), &json)?;
    written.push("departments.json".into());
    written.push(format!("keys/ ({} key files, mode 0600)", DEPTS.len()));

    let mut w = csv::Writer::from_path(out.join("firms.csv"))?;
    w.write_record(["uscc", "name", "region"])?;
    for firm in &firms {
        let region = &REGIONS[firm.region];
        w.write_record([firm.uscc.as_str(), &firm.name, &format!("山东省淄博市{}", region.name)])?;
    }
    w.flush()?;
    written.push("firms.csv".into());

    let mut w = csv::Writer::from_path(out.join("profiles.csv"))?;
    w.write_record(["uscc", "org_type", "industry", "staff", "intended_class"])?;
    for firm in &firms {
        let org = ["enterprise", "individual_business", "cooperative"][usize::from(firm.org_type - 1)];
        w.write_record([
            firm.uscc.as_str(),
            org,
            INDUSTRIES[firm.industry].key,
            &firm.staff.to_string(),
            firm.class.letter(),
        ])?;
    }
    w.flush()?;
    written.push("profiles.csv".into());

    let mut per_dept = [0usize; DEPTS.len()];
    let mut per_kind = vec![0usize; K::ALL.len()];
    for (d, dept) in DEPTS.iter().enumerate() {
        let path = out.join(format!("records/{}.jsonl", dept.code));
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        for b in built.iter().filter(|b| b.dept == d) {
            f.write_all(b.line.as_bytes())?;
            f.write_all(b"\n")?;
            per_dept[d] += 1;
            per_kind[b.kind as usize] += 1;
        }
        f.flush()?;
        for &kind in dept.kinds {
            let path = out.join(format!("csv/{}__{}.csv", dept.code, kind.as_str()));
            let mut w = csv::Writer::from_path(&path).with_context(|| format!("creating {}", path.display()))?;
            w.write_record(csv_columns(kind))?;
            for b in built.iter().filter(|b| b.dept == d && b.kind == kind) {
                w.write_record(&b.row)?;
            }
            w.flush()?;
        }
    }
    let csv_files: usize = DEPTS.iter().map(|d| d.kinds.len()).sum();
    written.push(format!("records/ ({} JSONL files of signed envelopes)", DEPTS.len()));
    written.push(format!("csv/ ({csv_files} CSV files, one per department and kind)"));
    if args.exports {
        let n = write_exports(out, &firms, &built)?;
        written.push(format!("exports/ ({n} 双公示 exports of penalties and licences: .xlsx and GB18030 CSV)"));
    }

    let mut class_counts = [0usize; 4];
    for firm in &firms {
        class_counts[firm.class.index()] += 1;
    }
    let class_line =
        Class::ALL.iter().map(|c| format!("{} {}", c.letter(), class_counts[c.index()])).collect::<Vec<_>>().join(", ");

    write_file(&out.join("load.sh"), load_script(&args).as_bytes())?;
    std::fs::set_permissions(out.join("load.sh"), std::fs::Permissions::from_mode(0o755))?;
    written.push("load.sh".into());
    write_file(&out.join("README.txt"), readme(&args, &class_line).as_bytes())?;
    written.push("README.txt".into());

    println!("simulated jurisdiction in {} (seed {})", out.display(), args.seed);
    println!("departments: {}", DEPTS.len());
    for (d, n) in DEPTS.iter().zip(per_dept) {
        println!("  {:<12} {:>9} records  {}", d.code, n, d.name);
    }
    println!("firms: {} (intended classes: {class_line})", firms.len());
    println!("records: {}", built.len());
    for kind in K::ALL {
        let n = per_kind[*kind as usize];
        if n > 0 {
            let share = 100.0 * n as f64 / built.len().max(1) as f64;
            println!("  {:<28} {:>9}  {:>5.1}%  {}", kind.as_str(), n, share, kind.chinese_name());
        }
    }
    println!("files:");
    for f in &written {
        println!("  {f}");
    }
    println!(
        "took {:.1} s; load it with: {}/load.sh SERVER_URL OPERATOR_KEY",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn load_script(args: &SimulateArgs) -> String {
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(&format!(
        "# Loads this simulated jurisdiction (seed {}, {} firms, {} records) into a running creditlog server:\n",
        args.seed, args.firms, args.records
    ));
    s.push_str("# registers every department with the operator key, then submits every department's signed records.\n");
    s.push_str("#\n# usage: ./load.sh SERVER_URL OPERATOR_KEY\n");
    s.push_str("#   e.g. ./load.sh http://127.0.0.1:8080 /path/to/data/operator.key\n");
    s.push_str("# The creditlog binary is $CREDITLOG if set, else `creditlog` on the PATH.\n");
    s.push_str(
        "# Safe to re-run: statements and records already on the log are reported as such, not appended twice.\n",
    );
    s.push_str("set -euo pipefail\n");
    s.push_str("if [ \"$#\" -ne 2 ]; then\n  echo \"usage: $0 SERVER_URL OPERATOR_KEY\" >&2\n  exit 64\nfi\n");
    s.push_str("server=$1\noperator=$2\n");
    s.push_str("here=$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\n");
    s.push_str("creditlog=${CREDITLOG:-creditlog}\n\n");
    s.push_str("echo \"registering departments\"\n");
    for d in &DEPTS {
        let kinds: Vec<&str> = d.kinds.iter().map(|k| k.as_str()).collect();
        s.push_str(&format!(
            "\"$creditlog\" dept add --server \"$server\" --key \"$operator\" --code {} --name {} \\\n    --kinds {} --domains {} --dept-key \"$here/keys/{}.key\"\n",
            shell_quote(d.code),
            shell_quote(d.name),
            shell_quote(&kinds.join(",")),
            shell_quote(&d.domains.join(",")),
            d.code
        ));
    }
    s.push('\n');
    for d in &DEPTS {
        s.push_str(&format!(
            "echo \"submitting records/{code}.jsonl\"\n\"$creditlog\" submit \"$here/records/{code}.jsonl\" --key \"$here/keys/{code}.key\" --server \"$server\"\n",
            code = d.code
        ));
    }
    s
}

fn readme(args: &SimulateArgs, classes: &str) -> String {
    let depts: String = DEPTS
        .iter()
        .map(|d| {
            let kinds: Vec<&str> = d.kinds.iter().map(|k| k.as_str()).collect();
            format!("  {:<12} {}\n               kinds: {}\n", d.code, d.name, kinds.join(", "))
        })
        .collect();
    format!(
        "A simulated jurisdiction for creditlog
=====================================

Written by `creditlog simulate --out DIR --firms {firms} --records {records} --seed {seed}`.
The same command gives byte-identical files, keys included. Everything here is synthetic:
firms, names and records are made up (any likeness to a real enterprise is chance), and the
department keys are derived from the seed, so anyone who knows the seed can rebuild them.
Use them for simulation only, never for a real log.

Files
-----
departments.json  the departments: code, name, record kinds, domains, key file, key id, public key
keys/CODE.key     each department's Ed25519 key (creditlog key file, mode 0600)
firms.csv         the enterprises: uscc, name, region
profiles.csv      simulation ground truth, not registry data: organisation type, industry, staff
                  and the risk class each firm was meant to have (intended_class)
records/CODE.jsonl  each department's records, one signed DSSE envelope per line, in date order
csv/CODE__KIND.csv  the same records as CSV, one file per department and kind, with the
                  columns of `creditlog kinds` (files of kinds with no records hold only the header)
exports/          with --exports: each department's penalties and licences as the 双公示 exports
                  its system would give an official, in the national standard's columns:
                  CODE__KIND.xlsx and CODE__KIND.gb18030.csv (`creditlog import FILE --kind KIND`)
load.sh           registers the departments and submits every JSONL file

Departments
-----------
{depts}
Loading
-------
Start a server (`creditlog serve --data DATA`), then

    ./load.sh http://127.0.0.1:8080 DATA/operator.key

(set CREDITLOG=/path/to/creditlog if the binary is not on the PATH). The script runs
`creditlog dept add` for every department, signed with the operator key, then
`creditlog submit records/CODE.jsonl --key keys/CODE.key` for every department. It can be
re-run: what is already on the log is reported as \"already on the log\" and not appended again.

JSONL or CSV: load one, not both
--------------------------------
The CSV files hold exactly the same records as the JSONL files. Load either the JSONL files
(load.sh) or the CSV files (`creditlog import csv/CODE__KIND.csv --kind KIND --key keys/CODE.key
--server URL`, after registering the departments), not both. `creditlog import` signs each row
itself rather than reusing the envelope in the JSONL file. With the key in keys/ the two are the
same bytes (each row gives exactly the JSONL payload, and Ed25519 signatures are deterministic),
so the server recognises the second copy and reports it as \"already on the log\"; but with any
other key of the same department (a rotated or added key) every row would be accepted and
appended a second time, so the registry would count every record twice.

What is in it
-------------
Firms: {firms}, each given an intended risk class ({classes}) in the proportions
of a real distribution (A 65%, B 25%, C 8%, D 1.5%; shared/DOMAIN.md section 1). Most are companies
(type 1), some individual businesses (type 2) and farmers' co-operatives (type 3), in eight
districts and counties with GB/T 2260 codes 370302-370323.

Records are spread over the firms with a heavy tail: a few firms have many records, most have
few (some none), and riskier firms have more. What happens to a firm depends on its intended class: an A firm gets licences,
annual reports filed on time, inspections without findings, tax credit grade A or B,
commendations and red lists, commitments it keeps; a D firm gets serious penalties, late or
missing annual reports, abnormal-operations and serious-dishonesty listings, black lists, tax
grade D, judgments it does not perform, unpaid social-security arrears, environmental violations
and work-safety accidents. Related records hang together: a listing removal follows its listing
(and, for a missing annual report, the late report), a commitment outcome cites its commitment's
reference, a serious-dishonesty listing cites the penalty behind it, a black list follows the
judgment, penalty or arrears behind it. Dates run from 2024-01-01 to 2026-11-20; document numbers
are numbered per issuing office and year in date order.

No retractions are simulated: a retraction names a log index, known only once records are loaded.
",
        firms = args.firms,
        records = args.records,
        seed = args.seed,
    )
}
