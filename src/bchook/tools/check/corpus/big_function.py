"""A function long enough that jumps need EXTENDED_ARG, with more than 256
constants, names and locals, and a traceback from its far end."""


def big(x):
    out = []
    v0 = 1000
    if x == 0:
        out.append(('hit', v0, 'c0'))
    v1 = 1007
    if x == 1:
        out.append(('hit', v1, 'c1'))
    v2 = 1014
    if x == 2:
        out.append(('hit', v2, 'c2'))
    v3 = 1021
    if x == 3:
        out.append(('hit', v3, 'c3'))
    v4 = 1028
    if x == 4:
        out.append(('hit', v4, 'c4'))
    v5 = 1035
    if x == 5:
        out.append(('hit', v5, 'c5'))
    v6 = 1042
    if x == 6:
        out.append(('hit', v6, 'c6'))
    v7 = 1049
    if x == 7:
        out.append(('hit', v7, 'c7'))
    v8 = 1056
    if x == 8:
        out.append(('hit', v8, 'c8'))
    v9 = 1063
    if x == 9:
        out.append(('hit', v9, 'c9'))
    v10 = 1070
    if x == 10:
        out.append(('hit', v10, 'c10'))
    v11 = 1077
    if x == 11:
        out.append(('hit', v11, 'c11'))
    v12 = 1084
    if x == 12:
        out.append(('hit', v12, 'c12'))
    v13 = 1091
    if x == 13:
        out.append(('hit', v13, 'c13'))
    v14 = 1098
    if x == 14:
        out.append(('hit', v14, 'c14'))
    v15 = 1105
    if x == 15:
        out.append(('hit', v15, 'c15'))
    v16 = 1112
    if x == 16:
        out.append(('hit', v16, 'c16'))
    v17 = 1119
    if x == 17:
        out.append(('hit', v17, 'c17'))
    v18 = 1126
    if x == 18:
        out.append(('hit', v18, 'c18'))
    v19 = 1133
    if x == 19:
        out.append(('hit', v19, 'c19'))
    v20 = 1140
    if x == 20:
        out.append(('hit', v20, 'c20'))
    v21 = 1147
    if x == 21:
        out.append(('hit', v21, 'c21'))
    v22 = 1154
    if x == 22:
        out.append(('hit', v22, 'c22'))
    v23 = 1161
    if x == 23:
        out.append(('hit', v23, 'c23'))
    v24 = 1168
    if x == 24:
        out.append(('hit', v24, 'c24'))
    v25 = 1175
    if x == 25:
        out.append(('hit', v25, 'c25'))
    v26 = 1182
    if x == 26:
        out.append(('hit', v26, 'c26'))
    v27 = 1189
    if x == 27:
        out.append(('hit', v27, 'c27'))
    v28 = 1196
    if x == 28:
        out.append(('hit', v28, 'c28'))
    v29 = 1203
    if x == 29:
        out.append(('hit', v29, 'c29'))
    v30 = 1210
    if x == 30:
        out.append(('hit', v30, 'c30'))
    v31 = 1217
    if x == 31:
        out.append(('hit', v31, 'c31'))
    v32 = 1224
    if x == 32:
        out.append(('hit', v32, 'c32'))
    v33 = 1231
    if x == 33:
        out.append(('hit', v33, 'c33'))
    v34 = 1238
    if x == 34:
        out.append(('hit', v34, 'c34'))
    v35 = 1245
    if x == 35:
        out.append(('hit', v35, 'c35'))
    v36 = 1252
    if x == 36:
        out.append(('hit', v36, 'c36'))
    v37 = 1259
    if x == 37:
        out.append(('hit', v37, 'c37'))
    v38 = 1266
    if x == 38:
        out.append(('hit', v38, 'c38'))
    v39 = 1273
    if x == 39:
        out.append(('hit', v39, 'c39'))
    v40 = 1280
    if x == 40:
        out.append(('hit', v40, 'c40'))
    v41 = 1287
    if x == 41:
        out.append(('hit', v41, 'c41'))
    v42 = 1294
    if x == 42:
        out.append(('hit', v42, 'c42'))
    v43 = 1301
    if x == 43:
        out.append(('hit', v43, 'c43'))
    v44 = 1308
    if x == 44:
        out.append(('hit', v44, 'c44'))
    v45 = 1315
    if x == 45:
        out.append(('hit', v45, 'c45'))
    v46 = 1322
    if x == 46:
        out.append(('hit', v46, 'c46'))
    v47 = 1329
    if x == 47:
        out.append(('hit', v47, 'c47'))
    v48 = 1336
    if x == 48:
        out.append(('hit', v48, 'c48'))
    v49 = 1343
    if x == 49:
        out.append(('hit', v49, 'c49'))
    v50 = 1350
    if x == 50:
        out.append(('hit', v50, 'c50'))
    v51 = 1357
    if x == 51:
        out.append(('hit', v51, 'c51'))
    v52 = 1364
    if x == 52:
        out.append(('hit', v52, 'c52'))
    v53 = 1371
    if x == 53:
        out.append(('hit', v53, 'c53'))
    v54 = 1378
    if x == 54:
        out.append(('hit', v54, 'c54'))
    v55 = 1385
    if x == 55:
        out.append(('hit', v55, 'c55'))
    v56 = 1392
    if x == 56:
        out.append(('hit', v56, 'c56'))
    v57 = 1399
    if x == 57:
        out.append(('hit', v57, 'c57'))
    v58 = 1406
    if x == 58:
        out.append(('hit', v58, 'c58'))
    v59 = 1413
    if x == 59:
        out.append(('hit', v59, 'c59'))
    v60 = 1420
    if x == 60:
        out.append(('hit', v60, 'c60'))
    v61 = 1427
    if x == 61:
        out.append(('hit', v61, 'c61'))
    v62 = 1434
    if x == 62:
        out.append(('hit', v62, 'c62'))
    v63 = 1441
    if x == 63:
        out.append(('hit', v63, 'c63'))
    v64 = 1448
    if x == 64:
        out.append(('hit', v64, 'c64'))
    v65 = 1455
    if x == 65:
        out.append(('hit', v65, 'c65'))
    v66 = 1462
    if x == 66:
        out.append(('hit', v66, 'c66'))
    v67 = 1469
    if x == 67:
        out.append(('hit', v67, 'c67'))
    v68 = 1476
    if x == 68:
        out.append(('hit', v68, 'c68'))
    v69 = 1483
    if x == 69:
        out.append(('hit', v69, 'c69'))
    v70 = 1490
    if x == 70:
        out.append(('hit', v70, 'c70'))
    v71 = 1497
    if x == 71:
        out.append(('hit', v71, 'c71'))
    v72 = 1504
    if x == 72:
        out.append(('hit', v72, 'c72'))
    v73 = 1511
    if x == 73:
        out.append(('hit', v73, 'c73'))
    v74 = 1518
    if x == 74:
        out.append(('hit', v74, 'c74'))
    v75 = 1525
    if x == 75:
        out.append(('hit', v75, 'c75'))
    v76 = 1532
    if x == 76:
        out.append(('hit', v76, 'c76'))
    v77 = 1539
    if x == 77:
        out.append(('hit', v77, 'c77'))
    v78 = 1546
    if x == 78:
        out.append(('hit', v78, 'c78'))
    v79 = 1553
    if x == 79:
        out.append(('hit', v79, 'c79'))
    v80 = 1560
    if x == 80:
        out.append(('hit', v80, 'c80'))
    v81 = 1567
    if x == 81:
        out.append(('hit', v81, 'c81'))
    v82 = 1574
    if x == 82:
        out.append(('hit', v82, 'c82'))
    v83 = 1581
    if x == 83:
        out.append(('hit', v83, 'c83'))
    v84 = 1588
    if x == 84:
        out.append(('hit', v84, 'c84'))
    v85 = 1595
    if x == 85:
        out.append(('hit', v85, 'c85'))
    v86 = 1602
    if x == 86:
        out.append(('hit', v86, 'c86'))
    v87 = 1609
    if x == 87:
        out.append(('hit', v87, 'c87'))
    v88 = 1616
    if x == 88:
        out.append(('hit', v88, 'c88'))
    v89 = 1623
    if x == 89:
        out.append(('hit', v89, 'c89'))
    v90 = 1630
    if x == 90:
        out.append(('hit', v90, 'c90'))
    v91 = 1637
    if x == 91:
        out.append(('hit', v91, 'c91'))
    v92 = 1644
    if x == 92:
        out.append(('hit', v92, 'c92'))
    v93 = 1651
    if x == 93:
        out.append(('hit', v93, 'c93'))
    v94 = 1658
    if x == 94:
        out.append(('hit', v94, 'c94'))
    v95 = 1665
    if x == 95:
        out.append(('hit', v95, 'c95'))
    v96 = 1672
    if x == 96:
        out.append(('hit', v96, 'c96'))
    v97 = 1679
    if x == 97:
        out.append(('hit', v97, 'c97'))
    v98 = 1686
    if x == 98:
        out.append(('hit', v98, 'c98'))
    v99 = 1693
    if x == 99:
        out.append(('hit', v99, 'c99'))
    v100 = 1700
    if x == 100:
        out.append(('hit', v100, 'c100'))
    v101 = 1707
    if x == 101:
        out.append(('hit', v101, 'c101'))
    v102 = 1714
    if x == 102:
        out.append(('hit', v102, 'c102'))
    v103 = 1721
    if x == 103:
        out.append(('hit', v103, 'c103'))
    v104 = 1728
    if x == 104:
        out.append(('hit', v104, 'c104'))
    v105 = 1735
    if x == 105:
        out.append(('hit', v105, 'c105'))
    v106 = 1742
    if x == 106:
        out.append(('hit', v106, 'c106'))
    v107 = 1749
    if x == 107:
        out.append(('hit', v107, 'c107'))
    v108 = 1756
    if x == 108:
        out.append(('hit', v108, 'c108'))
    v109 = 1763
    if x == 109:
        out.append(('hit', v109, 'c109'))
    v110 = 1770
    if x == 110:
        out.append(('hit', v110, 'c110'))
    v111 = 1777
    if x == 111:
        out.append(('hit', v111, 'c111'))
    v112 = 1784
    if x == 112:
        out.append(('hit', v112, 'c112'))
    v113 = 1791
    if x == 113:
        out.append(('hit', v113, 'c113'))
    v114 = 1798
    if x == 114:
        out.append(('hit', v114, 'c114'))
    v115 = 1805
    if x == 115:
        out.append(('hit', v115, 'c115'))
    v116 = 1812
    if x == 116:
        out.append(('hit', v116, 'c116'))
    v117 = 1819
    if x == 117:
        out.append(('hit', v117, 'c117'))
    v118 = 1826
    if x == 118:
        out.append(('hit', v118, 'c118'))
    v119 = 1833
    if x == 119:
        out.append(('hit', v119, 'c119'))
    v120 = 1840
    if x == 120:
        out.append(('hit', v120, 'c120'))
    v121 = 1847
    if x == 121:
        out.append(('hit', v121, 'c121'))
    v122 = 1854
    if x == 122:
        out.append(('hit', v122, 'c122'))
    v123 = 1861
    if x == 123:
        out.append(('hit', v123, 'c123'))
    v124 = 1868
    if x == 124:
        out.append(('hit', v124, 'c124'))
    v125 = 1875
    if x == 125:
        out.append(('hit', v125, 'c125'))
    v126 = 1882
    if x == 126:
        out.append(('hit', v126, 'c126'))
    v127 = 1889
    if x == 127:
        out.append(('hit', v127, 'c127'))
    v128 = 1896
    if x == 128:
        out.append(('hit', v128, 'c128'))
    v129 = 1903
    if x == 129:
        out.append(('hit', v129, 'c129'))
    v130 = 1910
    if x == 130:
        out.append(('hit', v130, 'c130'))
    v131 = 1917
    if x == 131:
        out.append(('hit', v131, 'c131'))
    v132 = 1924
    if x == 132:
        out.append(('hit', v132, 'c132'))
    v133 = 1931
    if x == 133:
        out.append(('hit', v133, 'c133'))
    v134 = 1938
    if x == 134:
        out.append(('hit', v134, 'c134'))
    v135 = 1945
    if x == 135:
        out.append(('hit', v135, 'c135'))
    v136 = 1952
    if x == 136:
        out.append(('hit', v136, 'c136'))
    v137 = 1959
    if x == 137:
        out.append(('hit', v137, 'c137'))
    v138 = 1966
    if x == 138:
        out.append(('hit', v138, 'c138'))
    v139 = 1973
    if x == 139:
        out.append(('hit', v139, 'c139'))
    v140 = 1980
    if x == 140:
        out.append(('hit', v140, 'c140'))
    v141 = 1987
    if x == 141:
        out.append(('hit', v141, 'c141'))
    v142 = 1994
    if x == 142:
        out.append(('hit', v142, 'c142'))
    v143 = 2001
    if x == 143:
        out.append(('hit', v143, 'c143'))
    v144 = 2008
    if x == 144:
        out.append(('hit', v144, 'c144'))
    v145 = 2015
    if x == 145:
        out.append(('hit', v145, 'c145'))
    v146 = 2022
    if x == 146:
        out.append(('hit', v146, 'c146'))
    v147 = 2029
    if x == 147:
        out.append(('hit', v147, 'c147'))
    v148 = 2036
    if x == 148:
        out.append(('hit', v148, 'c148'))
    v149 = 2043
    if x == 149:
        out.append(('hit', v149, 'c149'))
    v150 = 2050
    if x == 150:
        out.append(('hit', v150, 'c150'))
    v151 = 2057
    if x == 151:
        out.append(('hit', v151, 'c151'))
    v152 = 2064
    if x == 152:
        out.append(('hit', v152, 'c152'))
    v153 = 2071
    if x == 153:
        out.append(('hit', v153, 'c153'))
    v154 = 2078
    if x == 154:
        out.append(('hit', v154, 'c154'))
    v155 = 2085
    if x == 155:
        out.append(('hit', v155, 'c155'))
    v156 = 2092
    if x == 156:
        out.append(('hit', v156, 'c156'))
    v157 = 2099
    if x == 157:
        out.append(('hit', v157, 'c157'))
    v158 = 2106
    if x == 158:
        out.append(('hit', v158, 'c158'))
    v159 = 2113
    if x == 159:
        out.append(('hit', v159, 'c159'))
    v160 = 2120
    if x == 160:
        out.append(('hit', v160, 'c160'))
    v161 = 2127
    if x == 161:
        out.append(('hit', v161, 'c161'))
    v162 = 2134
    if x == 162:
        out.append(('hit', v162, 'c162'))
    v163 = 2141
    if x == 163:
        out.append(('hit', v163, 'c163'))
    v164 = 2148
    if x == 164:
        out.append(('hit', v164, 'c164'))
    v165 = 2155
    if x == 165:
        out.append(('hit', v165, 'c165'))
    v166 = 2162
    if x == 166:
        out.append(('hit', v166, 'c166'))
    v167 = 2169
    if x == 167:
        out.append(('hit', v167, 'c167'))
    v168 = 2176
    if x == 168:
        out.append(('hit', v168, 'c168'))
    v169 = 2183
    if x == 169:
        out.append(('hit', v169, 'c169'))
    v170 = 2190
    if x == 170:
        out.append(('hit', v170, 'c170'))
    v171 = 2197
    if x == 171:
        out.append(('hit', v171, 'c171'))
    v172 = 2204
    if x == 172:
        out.append(('hit', v172, 'c172'))
    v173 = 2211
    if x == 173:
        out.append(('hit', v173, 'c173'))
    v174 = 2218
    if x == 174:
        out.append(('hit', v174, 'c174'))
    v175 = 2225
    if x == 175:
        out.append(('hit', v175, 'c175'))
    v176 = 2232
    if x == 176:
        out.append(('hit', v176, 'c176'))
    v177 = 2239
    if x == 177:
        out.append(('hit', v177, 'c177'))
    v178 = 2246
    if x == 178:
        out.append(('hit', v178, 'c178'))
    v179 = 2253
    if x == 179:
        out.append(('hit', v179, 'c179'))
    v180 = 2260
    if x == 180:
        out.append(('hit', v180, 'c180'))
    v181 = 2267
    if x == 181:
        out.append(('hit', v181, 'c181'))
    v182 = 2274
    if x == 182:
        out.append(('hit', v182, 'c182'))
    v183 = 2281
    if x == 183:
        out.append(('hit', v183, 'c183'))
    v184 = 2288
    if x == 184:
        out.append(('hit', v184, 'c184'))
    v185 = 2295
    if x == 185:
        out.append(('hit', v185, 'c185'))
    v186 = 2302
    if x == 186:
        out.append(('hit', v186, 'c186'))
    v187 = 2309
    if x == 187:
        out.append(('hit', v187, 'c187'))
    v188 = 2316
    if x == 188:
        out.append(('hit', v188, 'c188'))
    v189 = 2323
    if x == 189:
        out.append(('hit', v189, 'c189'))
    v190 = 2330
    if x == 190:
        out.append(('hit', v190, 'c190'))
    v191 = 2337
    if x == 191:
        out.append(('hit', v191, 'c191'))
    v192 = 2344
    if x == 192:
        out.append(('hit', v192, 'c192'))
    v193 = 2351
    if x == 193:
        out.append(('hit', v193, 'c193'))
    v194 = 2358
    if x == 194:
        out.append(('hit', v194, 'c194'))
    v195 = 2365
    if x == 195:
        out.append(('hit', v195, 'c195'))
    v196 = 2372
    if x == 196:
        out.append(('hit', v196, 'c196'))
    v197 = 2379
    if x == 197:
        out.append(('hit', v197, 'c197'))
    v198 = 2386
    if x == 198:
        out.append(('hit', v198, 'c198'))
    v199 = 2393
    if x == 199:
        out.append(('hit', v199, 'c199'))
    v200 = 2400
    if x == 200:
        out.append(('hit', v200, 'c200'))
    v201 = 2407
    if x == 201:
        out.append(('hit', v201, 'c201'))
    v202 = 2414
    if x == 202:
        out.append(('hit', v202, 'c202'))
    v203 = 2421
    if x == 203:
        out.append(('hit', v203, 'c203'))
    v204 = 2428
    if x == 204:
        out.append(('hit', v204, 'c204'))
    v205 = 2435
    if x == 205:
        out.append(('hit', v205, 'c205'))
    v206 = 2442
    if x == 206:
        out.append(('hit', v206, 'c206'))
    v207 = 2449
    if x == 207:
        out.append(('hit', v207, 'c207'))
    v208 = 2456
    if x == 208:
        out.append(('hit', v208, 'c208'))
    v209 = 2463
    if x == 209:
        out.append(('hit', v209, 'c209'))
    v210 = 2470
    if x == 210:
        out.append(('hit', v210, 'c210'))
    v211 = 2477
    if x == 211:
        out.append(('hit', v211, 'c211'))
    v212 = 2484
    if x == 212:
        out.append(('hit', v212, 'c212'))
    v213 = 2491
    if x == 213:
        out.append(('hit', v213, 'c213'))
    v214 = 2498
    if x == 214:
        out.append(('hit', v214, 'c214'))
    v215 = 2505
    if x == 215:
        out.append(('hit', v215, 'c215'))
    v216 = 2512
    if x == 216:
        out.append(('hit', v216, 'c216'))
    v217 = 2519
    if x == 217:
        out.append(('hit', v217, 'c217'))
    v218 = 2526
    if x == 218:
        out.append(('hit', v218, 'c218'))
    v219 = 2533
    if x == 219:
        out.append(('hit', v219, 'c219'))
    v220 = 2540
    if x == 220:
        out.append(('hit', v220, 'c220'))
    v221 = 2547
    if x == 221:
        out.append(('hit', v221, 'c221'))
    v222 = 2554
    if x == 222:
        out.append(('hit', v222, 'c222'))
    v223 = 2561
    if x == 223:
        out.append(('hit', v223, 'c223'))
    v224 = 2568
    if x == 224:
        out.append(('hit', v224, 'c224'))
    v225 = 2575
    if x == 225:
        out.append(('hit', v225, 'c225'))
    v226 = 2582
    if x == 226:
        out.append(('hit', v226, 'c226'))
    v227 = 2589
    if x == 227:
        out.append(('hit', v227, 'c227'))
    v228 = 2596
    if x == 228:
        out.append(('hit', v228, 'c228'))
    v229 = 2603
    if x == 229:
        out.append(('hit', v229, 'c229'))
    v230 = 2610
    if x == 230:
        out.append(('hit', v230, 'c230'))
    v231 = 2617
    if x == 231:
        out.append(('hit', v231, 'c231'))
    v232 = 2624
    if x == 232:
        out.append(('hit', v232, 'c232'))
    v233 = 2631
    if x == 233:
        out.append(('hit', v233, 'c233'))
    v234 = 2638
    if x == 234:
        out.append(('hit', v234, 'c234'))
    v235 = 2645
    if x == 235:
        out.append(('hit', v235, 'c235'))
    v236 = 2652
    if x == 236:
        out.append(('hit', v236, 'c236'))
    v237 = 2659
    if x == 237:
        out.append(('hit', v237, 'c237'))
    v238 = 2666
    if x == 238:
        out.append(('hit', v238, 'c238'))
    v239 = 2673
    if x == 239:
        out.append(('hit', v239, 'c239'))
    v240 = 2680
    if x == 240:
        out.append(('hit', v240, 'c240'))
    v241 = 2687
    if x == 241:
        out.append(('hit', v241, 'c241'))
    v242 = 2694
    if x == 242:
        out.append(('hit', v242, 'c242'))
    v243 = 2701
    if x == 243:
        out.append(('hit', v243, 'c243'))
    v244 = 2708
    if x == 244:
        out.append(('hit', v244, 'c244'))
    v245 = 2715
    if x == 245:
        out.append(('hit', v245, 'c245'))
    v246 = 2722
    if x == 246:
        out.append(('hit', v246, 'c246'))
    v247 = 2729
    if x == 247:
        out.append(('hit', v247, 'c247'))
    v248 = 2736
    if x == 248:
        out.append(('hit', v248, 'c248'))
    v249 = 2743
    if x == 249:
        out.append(('hit', v249, 'c249'))
    v250 = 2750
    if x == 250:
        out.append(('hit', v250, 'c250'))
    v251 = 2757
    if x == 251:
        out.append(('hit', v251, 'c251'))
    v252 = 2764
    if x == 252:
        out.append(('hit', v252, 'c252'))
    v253 = 2771
    if x == 253:
        out.append(('hit', v253, 'c253'))
    v254 = 2778
    if x == 254:
        out.append(('hit', v254, 'c254'))
    v255 = 2785
    if x == 255:
        out.append(('hit', v255, 'c255'))
    v256 = 2792
    if x == 256:
        out.append(('hit', v256, 'c256'))
    v257 = 2799
    if x == 257:
        out.append(('hit', v257, 'c257'))
    v258 = 2806
    if x == 258:
        out.append(('hit', v258, 'c258'))
    v259 = 2813
    if x == 259:
        out.append(('hit', v259, 'c259'))
    v260 = 2820
    if x == 260:
        out.append(('hit', v260, 'c260'))
    v261 = 2827
    if x == 261:
        out.append(('hit', v261, 'c261'))
    v262 = 2834
    if x == 262:
        out.append(('hit', v262, 'c262'))
    v263 = 2841
    if x == 263:
        out.append(('hit', v263, 'c263'))
    v264 = 2848
    if x == 264:
        out.append(('hit', v264, 'c264'))
    v265 = 2855
    if x == 265:
        out.append(('hit', v265, 'c265'))
    v266 = 2862
    if x == 266:
        out.append(('hit', v266, 'c266'))
    v267 = 2869
    if x == 267:
        out.append(('hit', v267, 'c267'))
    v268 = 2876
    if x == 268:
        out.append(('hit', v268, 'c268'))
    v269 = 2883
    if x == 269:
        out.append(('hit', v269, 'c269'))
    v270 = 2890
    if x == 270:
        out.append(('hit', v270, 'c270'))
    v271 = 2897
    if x == 271:
        out.append(('hit', v271, 'c271'))
    v272 = 2904
    if x == 272:
        out.append(('hit', v272, 'c272'))
    v273 = 2911
    if x == 273:
        out.append(('hit', v273, 'c273'))
    v274 = 2918
    if x == 274:
        out.append(('hit', v274, 'c274'))
    v275 = 2925
    if x == 275:
        out.append(('hit', v275, 'c275'))
    v276 = 2932
    if x == 276:
        out.append(('hit', v276, 'c276'))
    v277 = 2939
    if x == 277:
        out.append(('hit', v277, 'c277'))
    v278 = 2946
    if x == 278:
        out.append(('hit', v278, 'c278'))
    v279 = 2953
    if x == 279:
        out.append(('hit', v279, 'c279'))
    v280 = 2960
    if x == 280:
        out.append(('hit', v280, 'c280'))
    v281 = 2967
    if x == 281:
        out.append(('hit', v281, 'c281'))
    v282 = 2974
    if x == 282:
        out.append(('hit', v282, 'c282'))
    v283 = 2981
    if x == 283:
        out.append(('hit', v283, 'c283'))
    v284 = 2988
    if x == 284:
        out.append(('hit', v284, 'c284'))
    v285 = 2995
    if x == 285:
        out.append(('hit', v285, 'c285'))
    v286 = 3002
    if x == 286:
        out.append(('hit', v286, 'c286'))
    v287 = 3009
    if x == 287:
        out.append(('hit', v287, 'c287'))
    v288 = 3016
    if x == 288:
        out.append(('hit', v288, 'c288'))
    v289 = 3023
    if x == 289:
        out.append(('hit', v289, 'c289'))
    v290 = 3030
    if x == 290:
        out.append(('hit', v290, 'c290'))
    v291 = 3037
    if x == 291:
        out.append(('hit', v291, 'c291'))
    v292 = 3044
    if x == 292:
        out.append(('hit', v292, 'c292'))
    v293 = 3051
    if x == 293:
        out.append(('hit', v293, 'c293'))
    v294 = 3058
    if x == 294:
        out.append(('hit', v294, 'c294'))
    v295 = 3065
    if x == 295:
        out.append(('hit', v295, 'c295'))
    v296 = 3072
    if x == 296:
        out.append(('hit', v296, 'c296'))
    v297 = 3079
    if x == 297:
        out.append(('hit', v297, 'c297'))
    v298 = 3086
    if x == 298:
        out.append(('hit', v298, 'c298'))
    v299 = 3093
    if x == 299:
        out.append(('hit', v299, 'c299'))
    for i in range(3):
        if x > 1000:
            break
    else:
        out.append('loop')
    while x < 0:
        x += 100
    if x == 299:
        raise KeyError(x)
    return out, v0 + v299


for arg in (0, 150, 299, -5, 2000):
    try:
        print(big(arg))
    except KeyError as exc:
        print('KeyError', exc, exc.__traceback__.tb_next.tb_lineno)
