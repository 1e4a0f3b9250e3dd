"""Name pools of the demo street and the draws from them.

Surnames and given characters for :func:`person_names` (realistic Chinese names, common surnames
weighted by rank), mobile phone prefixes, the prefixes and suffixes of residential compound names,
the kinds of non-residential buildings and the work units of in-service Party members, plus
:func:`pick_one` (one item drawn from a sequence) and :func:`mask_name` (a name as stored for a
request's reporter). Nothing here depends on the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏斌宇浩凯俊峰丹玲燕飞鑫波"
    "宁林海云成志国东春梅琴晶欣婷雪亮龙晨"
)
#: Prefixes of Chinese mobile numbers (three digits, eight more follow).
PHONE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    *(f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    *(f"18{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
)
# fmt: off
#: First parts of residential compound names (also of the synthetic city's communities).
COMPOUND_PREFIXES = (
    "东岳", "柏林", "人民", "车城", "三堰", "五堰", "六堰", "花果", "朝阳", "东风",
    "汽配", "公园", "大岭", "张湾", "红卫", "柳林", "阳光", "幸福", "和谐", "锦绣",
    "丹江", "武当", "汉江", "北京路", "重庆路", "天津路", "上海路", "浙江路", "广东路", "发展",
    "建设", "新华", "兴隆", "金苑", "龙门", "桂园", "紫荆", "东方", "二汽", "车桥",
    "铸造", "百二河", "茅箭", "青年", "文化", "卫生",
)
# fmt: on
#: Last parts of residential compound names.
COMPOUND_SUFFIXES = ("小区", "花园", "家属院", "苑", "新村", "公寓", "嘉园", "雅居")
#: Names of non-residential buildings, after their compound's name.
NONRES_KINDS = ("商业楼", "综合楼", "幼儿园", "农贸市场", "社区卫生服务站", "小学教学楼", "办公楼")
#: Work units of in-service Party members.
WORK_UNITS = (
    "十堰市人民医院",
    "十堰市太和医院",
    "东风汽车有限公司",
    "东风商用车有限公司",
    "张湾区教育局",
    "张湾区人民法院",
    "十堰市自然资源和规划局",
    "湖北医药学院",
    "汉江师范学院",
    "十堰市第一中学",
    "国网十堰供电公司",
    "十堰市公安局张湾区分局",
    "中国银行十堰分行",
    "十堰市城市管理执法委员会",
    "张湾区卫生健康局",
    "国家税务总局十堰市张湾区税务局",
)


def pick_one(rng: np.random.Generator, items: Sequence[object]) -> object:
    """One item of ``items``, drawn uniformly."""
    return items[int(rng.integers(len(items)))]


def mask_name(name: str) -> str:
    """Mask a personal name for storage: 张*明, 李*."""
    return name[0] + "*" + (name[-1] if len(name) > 2 else "")


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Realistic Chinese names: common surnames weighted by rank, one or two given characters."""
    weights = 1.0 / (np.arange(len(_SURNAMES)) + 4.0)
    surnames = rng.choice(list(_SURNAMES), size=n, p=weights / weights.sum())
    first = rng.integers(0, len(_GIVEN), n)
    second = rng.integers(0, len(_GIVEN), n)
    single = rng.random(n) < 0.3
    return [
        s + _GIVEN[f] + ("" if one else _GIVEN[g])
        for s, f, g, one in zip(surnames, first, second, single, strict=True)
    ]
